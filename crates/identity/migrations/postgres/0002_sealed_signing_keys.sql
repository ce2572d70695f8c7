-- Signing keys sealed at rest: `private_key` now holds the base64 ChaCha20-Poly1305 ciphertext
-- of the PKCS#8 DER key, sealed under the key-encryption key `kek_id` with `nonce` (base64).
-- Rows of older versions (both NULL, the key in the clear) are sealed at the next start.
ALTER TABLE signing_keys ADD COLUMN kek_id TEXT;
ALTER TABLE signing_keys ADD COLUMN nonce TEXT;
