/**
 * A throwaway CA and a server certificate it signs (SANs 127.0.0.1 and localhost), so clients
 * verify the API server the way they verify a real one. EC P-256 keeps start-up near 100 ms,
 * where RSA-2048 generation can take seconds.
 */
import { generate } from 'selfsigned';

export interface ServerCertificates {
  caCert: string;
  cert: string;
  key: string;
}

export async function createServerCertificates(): Promise<ServerCertificates> {
  const ca = await generate([{ name: 'commonName', value: 'cd-actions-sandbox-ca' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: 'kubernetes.default.svc' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { caCert: ca.cert, cert: server.cert, key: server.private };
}
