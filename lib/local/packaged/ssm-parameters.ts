import { createServer, type Server } from 'node:http';

/**
 * An SSM endpoint that answers GetParameter from a fixed map, for running the packaged functions
 * offline (`npm start -- --packaged`, the packaged tests): SSM has no local emulator, and the
 * deployed functions read the clusters config from it. Point the AWS SDK at it with
 * AWS_ENDPOINT_URL_SSM. Anything else gets SSM's own error shape.
 */
export async function serveSsmParameters(
  parameters: Record<string, string>,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const { Name } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Name?: string };
      requests.push(`${target} ${Name}`);
      const value = Name === undefined ? undefined : parameters[Name];
      const found = target === 'AmazonSSM.GetParameter' && value !== undefined;
      res.writeHead(found ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          found
            ? { Parameter: { Name, Type: 'String', Value: value, Version: 1 } }
            : { __type: 'ParameterNotFound', message: `${Name} not found` },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
