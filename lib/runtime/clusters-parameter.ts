import { parse as parseYaml } from 'yaml';
import { AWS_CALL_LIMITS } from '../aws-call-limits.js';
import { type ClustersConfig, parseClustersConfig } from '../clusters/config.js';
import { ConfigError } from '../errors.js';

/** The clusters config (YAML) from its SSM parameter, validated; errors name the parameter. */
export async function loadClustersConfig(parameter: string, region: string): Promise<ClustersConfig> {
  // Imported here, not at the top: a bundler hoists an external's static import to the bundle's
  // start, and the SSM client is the largest part of a cold import of the HTTP functions.
  const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
  const out = await new SSMClient({ region, requestHandler: { ...AWS_CALL_LIMITS } }).send(
    new GetParameterCommand({ Name: parameter, WithDecryption: true }),
  );
  if (out.Parameter?.Value === undefined) throw new ConfigError(`SSM parameter ${parameter} is empty`);
  try {
    return parseClustersConfig(parseYaml(out.Parameter.Value));
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(`${parameter}: ${error.message}`, { cause: error });
    throw new ConfigError(`${parameter} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
}
