export const AGENT_BUNDLE: string;
export function bundleAgent(outfile?: string): Promise<string>;
