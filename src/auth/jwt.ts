/**
 * Site-member tokens: a JWT signed with HS256 (CAIRN_JWT_SECRET) or RS256 (CAIRN_JWT_PUBLIC_KEY,
 * a PEM public key or the path of one), carrying the member id in `sub` (or `memberId`). The
 * verifier accepts only the configured algorithm, so a token cannot pick its own (no `none`,
 * no HS256 signed with the public key). `exp` and `nbf` are honoured with a small clock skew;
 * `iss` and `aud` are checked when configured. jose does the cryptography and claim checks.
 */
import { readFileSync } from 'node:fs';
import { importSPKI, jwtVerify, type JWTVerifyOptions, type CryptoKey, type KeyObject } from 'jose';

export interface MemberTokenConfig {
  /** HS256 shared secret. */
  secret?: string | undefined;
  /** RS256 public key: PEM text, or the path of a PEM file. */
  publicKey?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export type MemberTokenVerifier = (token: string) => Promise<string | undefined>;

/** A JWT is three base64url parts; an API key never has dots. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** The verifier for the configuration, or undefined when member tokens are not configured. */
export async function memberTokenVerifier(config: MemberTokenConfig): Promise<MemberTokenVerifier | undefined> {
  let key: Uint8Array | CryptoKey | KeyObject;
  let algorithm: string;
  if (config.publicKey) {
    const pem = config.publicKey.includes('-----BEGIN') ? config.publicKey : readFileSync(config.publicKey, 'utf8');
    key = await importSPKI(pem, 'RS256');
    algorithm = 'RS256';
  } else if (config.secret) {
    if (Buffer.byteLength(config.secret) < 32) throw new Error('CAIRN_JWT_SECRET must be at least 32 bytes long (HS256 needs a key as long as its hash)');
    key = new TextEncoder().encode(config.secret);
    algorithm = 'HS256';
  } else {
    return undefined;
  }
  const options: JWTVerifyOptions = { algorithms: [algorithm], clockTolerance: 30 };
  if (config.issuer) options.issuer = config.issuer;
  if (config.audience) options.audience = config.audience;
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key, options);
      const member = typeof payload.memberId === 'string' && payload.memberId ? payload.memberId : payload.sub;
      return typeof member === 'string' && member.length > 0 && member.length <= 256 ? member : undefined;
    } catch {
      return undefined;
    }
  };
}
