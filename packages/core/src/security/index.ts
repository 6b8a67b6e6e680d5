export * from './secret-codec';
export { aesGcmCodec, AesGcmCodec, type AesGcmCodecOptions, encryptedKeyId, ENCRYPTED_PREFIX } from './aes-gcm-codec';
export { unencryptedCodec } from './unencrypted-codec';
export { RekeyWorkerError, type RekeyWorkers } from './rekey-workers';
export {
  ENCRYPTION_KEYS_ENV,
  type EncryptionKey,
  formatEncryptionKey,
  generateEncryptionKey,
  KeyRing,
  parseEncryptionKeys,
} from './key-ring';
export { SessionStateBinder } from './session-state';
export { type CallbackLocation, type ParsedCallback, parseCallback, redirectMatches } from './redirect-match';
