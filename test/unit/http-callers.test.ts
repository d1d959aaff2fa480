import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseClustersConfig } from '../../lib/clusters/config.js';
import { principalAdmits } from '../../lib/clusters/iam-principals.js';
import { AuthenticationError, ForbiddenError } from '../../lib/errors.js';
import { callerCredentials, configuredCallers, noCaller } from '../../lib/http/callers.js';

const ROLE = 'arn:aws:iam::111122223333:role/platform/scheduler-candidates';
const USER = 'arn:aws:iam::111122223333:user/ops/candidate-bot';
const SESSION = 'arn:aws:sts::111122223333:assumed-role/scheduler-candidates/i-0abc123';
const TOKEN = 'alpha-secret-token';

/** An HTTP API v2.0 request, signed (IAM authorizer context) or with a bearer token or neither. */
function request(credential: { signer?: string; token?: string } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    headers: credential.token === undefined ? {} : { authorization: `Bearer ${credential.token}` },
    requestContext: {
      http: { method: 'POST' },
      ...(credential.signer !== undefined && {
        authorizer: { iam: { userArn: credential.signer, accountId: credential.signer.split(':')[4] } },
      }),
    },
  } as unknown as APIGatewayProxyEventV2;
}

describe('IAM principal matching (unit)', () => {
  it('admits every session of a configured role: same partition, account and role name; the path is not in the STS ARN', () => {
    expect(principalAdmits(ROLE, SESSION)).toBe(true);
    expect(principalAdmits('arn:aws:iam::111122223333:role/scheduler-candidates', SESSION)).toBe(true);
    expect(
      principalAdmits(ROLE, 'arn:aws:sts::111122223333:assumed-role/scheduler-candidates/other-session'),
    ).toBe(true);
  });

  it('refuses another account, another role, another partition, and a role ARN presented as the signer', () => {
    expect(principalAdmits(ROLE, 'arn:aws:sts::444455556666:assumed-role/scheduler-candidates/s')).toBe(
      false,
    );
    expect(principalAdmits(ROLE, 'arn:aws:sts::111122223333:assumed-role/scheduler-candidates-2/s')).toBe(
      false,
    );
    expect(principalAdmits(ROLE, 'arn:aws:sts::111122223333:assumed-role/scheduler/s')).toBe(false);
    expect(principalAdmits(ROLE, 'arn:aws-cn:sts::111122223333:assumed-role/scheduler-candidates/s')).toBe(
      false,
    );
    expect(principalAdmits(ROLE, ROLE)).toBe(false);
    expect(principalAdmits(ROLE, 'arn:aws:iam::111122223333:user/scheduler-candidates')).toBe(false);
  });

  it('admits an IAM user by its exact ARN only', () => {
    expect(principalAdmits(USER, USER)).toBe(true);
    expect(principalAdmits(USER, 'arn:aws:iam::111122223333:user/candidate-bot')).toBe(false);
    expect(principalAdmits(USER, 'arn:aws:sts::111122223333:assumed-role/candidate-bot/s')).toBe(false);
    expect(principalAdmits(USER, 'arn:aws:iam::111122223333:root')).toBe(false);
  });
});

describe('HTTP callers (unit)', () => {
  const callers = configuredCallers(
    parseClustersConfig({
      clusters: [
        {
          name: 'alpha',
          httpCallers: {
            tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')],
            iamPrincipalArns: [ROLE, USER],
          },
        },
        { name: 'beta', httpCallers: { iamPrincipalArns: ['arn:aws:iam::111122223333:role/beta'] } },
      ],
    }),
  );
  const outcome = (cluster: string, event: APIGatewayProxyEventV2) => {
    try {
      callers(cluster, callerCredentials(event));
      return 'allowed';
    } catch (error) {
      if (error instanceof AuthenticationError) return 401;
      if (error instanceof ForbiddenError) return 403;
      throw error;
    }
  };

  it('allows a session of a listed role, a listed user, and a listed token, for their own cluster only', () => {
    expect(outcome('alpha', request({ signer: SESSION }))).toBe('allowed');
    expect(outcome('alpha', request({ signer: USER }))).toBe('allowed');
    expect(outcome('alpha', request({ token: TOKEN }))).toBe('allowed');
    expect(outcome('beta', request({ signer: SESSION }))).toBe(403);
    expect(outcome('beta', request({ token: TOKEN }))).toBe(403);
    expect(outcome('gamma', request({ signer: SESSION }))).toBe(403);
  });

  it('answers 401 without a credential and 403 for a signer nobody listed', () => {
    expect(outcome('alpha', request())).toBe(401);
    expect(outcome('alpha', request({ signer: 'arn:aws:sts::444455556666:assumed-role/x/y' }))).toBe(403);
    expect(outcome('alpha', request({ token: 'wrong' }))).toBe(403);
  });

  it('judges a signed request by its signer alone: a bearer token beside it does not count', () => {
    const signedByStranger = request({ signer: 'arn:aws:sts::444455556666:assumed-role/x/y', token: TOKEN });
    expect(outcome('alpha', signedByStranger)).toBe(403);
  });

  it('without configured callers refuses everyone with 401', () => {
    for (const event of [request(), request({ token: TOKEN }), request({ signer: SESSION })]) {
      expect(() => noCaller('alpha', callerCredentials(event))).toThrow(AuthenticationError);
    }
  });
});
