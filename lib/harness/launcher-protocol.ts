/** The messages between a harness process and its launcher (lib/harness/launcher.ts). */

export type StderrTarget = 'lines' | 'ignore' | { readonly file: string };

export type LauncherRequest =
  | {
      readonly type: 'spawn';
      readonly id: number;
      readonly command: string;
      readonly args: readonly string[];
      /** Where the process's stderr goes: back line by line like stdout, nowhere, or into a file. */
      readonly stderr: StderrTarget;
    }
  | { readonly type: 'kill'; readonly id: number; readonly signal: NodeJS.Signals };

export type LauncherReport =
  | {
      readonly type: 'line';
      readonly id: number;
      readonly stream: 'stdout' | 'stderr';
      readonly line: string;
    }
  | {
      readonly type: 'exit';
      readonly id: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      /** Set when the process could not be started at all (a missing binary, say). */
      readonly error?: string;
    };
