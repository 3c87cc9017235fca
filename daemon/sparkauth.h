/* sparkauth.h — the secrets that keep one Spark session or cluster private.
 *
 * On a shared host loopback is not a boundary between users, so every
 * Spark process the daemon starts or a kernel starts for a session is
 * authenticated with fresh secrets:
 *  - rpc_secret: Spark's RPC secret (spark.authenticate.secret, or
 *    _SPARK_AUTH_SECRET in the environment of standalone masters and
 *    workers), 64 hex digits;
 *  - ui_key: the key of Spark's UI filter org.apache.spark.ui.JWSFilter
 *    (Spark >= 4.0; its `secretKey` parameter: base64url, 256 bits);
 *  - ui_token: a JWS (HS256) signed with ui_key, which the daemon's UI
 *    proxy sends as `Authorization: Bearer <token>`; nobody else has it.
 * They travel only in environments, 0600 files and the kernel's
 * authenticated ZeroMQ channel, never on a command line.
 */
#pragma once
#include <stddef.h>

/* Spark's UI filter and the conf key of its key parameter. */
#define SPARK_UI_JWS_FILTER "org.apache.spark.ui.JWSFilter"
#define SPARK_UI_JWS_KEY    "spark.org.apache.spark.ui.JWSFilter.param.secretKey"

#define SPARKAUTH_SECRET_LEN 64  /* hex digits of rpc_secret */
#define SPARKAUTH_KEY_BYTES  32
#define SPARKAUTH_KEY_LEN    43  /* base64url of SPARKAUTH_KEY_BYTES, no padding */
#define SPARKAUTH_TOKEN_MAX  256

struct sparkauth {
        char rpc_secret[SPARKAUTH_SECRET_LEN + 1];
        char ui_key[SPARKAUTH_KEY_LEN + 1];
        char ui_token[SPARKAUTH_TOKEN_MAX + 1];
};

/* Fills a with fresh random secrets and the matching token.  Returns 0,
 * -EIO when no randomness is available, or -ELIBACC without libcrypto
 * (dl.h: the HMAC). */
int sparkauth_new(struct sparkauth *a);

/* Wipes a (explicit_bzero).  Accepts NULL. */
void sparkauth_clear(struct sparkauth *a);

/* Pure helpers, exposed for the unit tests. */

/* base64url of in[0..n) without padding into out (cap bytes with the NUL).
 * Returns the length, or -ENOSPC. */
int sparkauth_b64url(const unsigned char *in, size_t n, char *out, size_t cap);

/* The compact JWS b64url(header) "." b64url(payload) "." b64url(HMAC-SHA256)
 * of the two JSON texts with key.  Returns the length written to out (cap
 * bytes with the NUL), -ENOSPC, -ELIBACC or -EIO. */
int sparkauth_jws(const unsigned char *key, size_t key_len, const char *header, const char *payload,
                  char *out, size_t cap);
