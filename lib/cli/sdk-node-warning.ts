/**
 * The AWS SDK warns once per process, on stderr, when Node is older than the SDK's next minimum
 * (22). The project supports Node 20 on the command line (package.json engines) and runs
 * nodejs22.x on Lambda, so for a command-line user the notice is noise on every command. The
 * SDK reads this variable when a client is constructed; a value the user set is kept.
 */
export function silenceSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
