import { type Command, CommanderError } from 'commander';
import { ConfigError, CoordinatorError } from '../errors.js';

/** Exit status for unusable arguments or input, for every command line of the project. */
const USAGE_EXIT = 2;

/**
 * Parses the arguments and runs the program's action, then sets the exit status: 0 on success
 * (and for --help), 2 for unusable arguments or input (Commander's own errors, which it has
 * already printed, and ConfigError, printed here), 1 for any other failure: its message alone for a
 * CoordinatorError, which is raised on purpose and says what is wrong (the agent's "the cluster
 * serves no LeaseCandidate API … apply …"), with its stack for anything else, which is a bug.
 * The program must be built with `.exitOverride()`, so Commander throws instead of exiting.
 */
export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
    } else if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = USAGE_EXIT;
    } else if (error instanceof CoordinatorError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  }
}
