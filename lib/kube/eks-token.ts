import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** STS presigned URLs for EKS are valid for 15 minutes; we reuse one for less than that. */
const TOKEN_REUSE_MS = 10 * 60_000;

/**
 * An EKS bearer token: `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL), with the
 * cluster name in the signed `x-k8s-aws-id` header (what `aws eks get-token` produces). Built
 * with the SDK v3 signer, so no SDK v2 dependency comes in.
 */
export class EksTokenSource {
  private cached: { token: string; until: number } | undefined;
  private readonly signer: SignatureV4;

  constructor(
    private readonly clusterName: string,
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {
    this.signer = new SignatureV4({ credentials: defaultProvider(), region, service: 'sts', sha256: Sha256 });
  }

  async token(): Promise<string> {
    if (this.cached !== undefined && this.cached.until > this.now()) return this.cached.token;
    const hostname = `sts.${this.region}.amazonaws.com`;
    const signed = await this.signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname,
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host: hostname, 'x-k8s-aws-id': this.clusterName },
      },
      { expiresIn: 60, signingDate: new Date(this.now()) },
    );
    const query = new URLSearchParams(signed.query as Record<string, string>).toString();
    const url = `https://${hostname}/?${query}`;
    const token = `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
    this.cached = { token, until: this.now() + TOKEN_REUSE_MS };
    return token;
  }
}
