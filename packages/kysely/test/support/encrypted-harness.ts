import { aesGcmCodec, generateEncryptionKey, type SecretCodec } from '@tokenvault/core';
import type { StoreHarness } from '@tokenvault/store-conformance';
import { postgresHarness } from './postgres-harness';
import { sqliteFileHarness } from './sqlite-harness';

/** Two keys, the second not active: encrypted runs also read under a non-active key. */
export function testCodec(): SecretCodec {
  return aesGcmCodec({ keys: [generateEncryptionKey({ id: 'test2' }), generateEncryptionKey({ id: 'test1' })] });
}

/**
 * The harness's raw-read oracle, seeing through encryption: every secret column must hold a `tv1.`
 * value (plaintext there fails the read), which it decrypts at the row's own location.
 */
function decryptingOracle(harness: StoreHarness, codec: SecretCodec): StoreHarness {
  const open = (value: unknown, column: string, key: string): unknown => {
    if (value === null || value === undefined) return value;
    if (typeof value !== 'string' || !value.startsWith('tv1.')) throw new TypeError(`column ${column} of ${key} is not encrypted`);
    return codec.decode(value, { table: 'grants', column, key });
  };
  return {
    ...harness,
    async rawRead(grantId) {
      const plain = await harness.rawRead(grantId);
      if (plain === undefined) return undefined;
      const pending = plain.pending as Record<string, unknown> | null;
      return {
        ...plain,
        accessToken: open(plain.accessToken, 'access_token', grantId),
        refreshToken: open(plain.refreshToken, 'refresh_token', grantId),
        idToken: open(plain.idToken, 'id_token', grantId),
        pending:
          pending === null
            ? null
            : {
                ...pending,
                codeVerifier: open(pending.codeVerifier, 'pending_code_verifier', grantId),
                serverState: open(pending.serverState, 'pending_server_state', grantId),
              },
      };
    },
  };
}

export async function encryptedSqliteHarness(): Promise<StoreHarness> {
  const codec = testCodec();
  return decryptingOracle(await sqliteFileHarness({ encryption: { codec } }), codec);
}

export async function encryptedPostgresHarness(): Promise<StoreHarness> {
  const codec = testCodec();
  return decryptingOracle(await postgresHarness({ encryption: { codec } }), codec);
}
