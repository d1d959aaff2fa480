/** Types for ensure-cfn-lint.mjs, which stays plain JavaScript so it runs without a build. */
export declare const CFN_LINT_VERSION: string;
export declare function cacheRoot(): string;
/** Installs cfn-lint once per machine and returns the path of its binary. */
export declare function ensureCfnLint(): string;
