#include "sparkauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>

#include "dl.h"

/* What the UI proxy presents: no claim Spark checks beyond the signature. */
#define JWS_HEADER  "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define JWS_PAYLOAD "{\"iss\":\"sparkd\",\"sub\":\"spark-ui-proxy\"}"

int sparkauth_b64url(const unsigned char *in, size_t n, char *out, size_t cap) {
        static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t len = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
        if (len >= cap)
                return -ENOSPC;
        size_t o = 0;
        for (size_t i = 0; i < n; i += 3) {
                unsigned long v = (unsigned long)in[i] << 16;
                if (i + 1 < n)
                        v |= (unsigned long)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                size_t chars = n - i >= 3 ? 4 : n - i + 1;
                for (size_t k = 0; k < chars; k++)
                        out[o++] = abc[(v >> (18 - 6 * k)) & 63];
        }
        out[o] = '\0';
        return (int)o;
}

/* HMAC-SHA256 of data with key into md.  Returns 0, -ELIBACC or -EIO. */
static int hmac_sha256(const unsigned char *key, size_t key_len, const char *data, size_t len,
                       unsigned char md[32]) {
        int r = dl_crypto_load();
        if (r < 0)
                return r;
        size_t mdlen = 0;
        EVP_MAC *mac = dlc.EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? dlc.EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {
                dlc.OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                dlc.OSSL_PARAM_construct_end(),
        };
        r = ctx && dlc.EVP_MAC_init(ctx, key, key_len, params) &&
                            dlc.EVP_MAC_update(ctx, (const unsigned char *)data, len) &&
                            dlc.EVP_MAC_final(ctx, md, &mdlen, 32) && mdlen == 32
                    ? 0
                    : -EIO;
        dlc.EVP_MAC_CTX_free(ctx);
        dlc.EVP_MAC_free(mac);
        return r;
}

int sparkauth_jws(const unsigned char *key, size_t key_len, const char *header, const char *payload,
                  char *out, size_t cap) {
        int n = sparkauth_b64url((const unsigned char *)header, strlen(header), out, cap);
        if (n < 0 || (size_t)n + 1 >= cap)
                return -ENOSPC;
        out[n++] = '.';
        int m = sparkauth_b64url((const unsigned char *)payload, strlen(payload), out + n, cap - (size_t)n);
        if (m < 0 || (size_t)(n + m) + 1 >= cap)
                return -ENOSPC;
        n += m;
        unsigned char md[32];
        int r = hmac_sha256(key, key_len, out, (size_t)n, md);
        if (r < 0)
                return r;
        out[n++] = '.';
        m = sparkauth_b64url(md, sizeof md, out + n, cap - (size_t)n);
        explicit_bzero(md, sizeof md);
        return m < 0 ? -ENOSPC : n + m;
}

int sparkauth_new(struct sparkauth *a) {
        unsigned char raw[32 + SPARKAUTH_KEY_BYTES];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
                return -EIO;
        for (int i = 0; i < 32; i++)
                snprintf(a->rpc_secret + 2 * i, 3, "%02x", raw[i]);
        int r = sparkauth_b64url(raw + 32, SPARKAUTH_KEY_BYTES, a->ui_key, sizeof a->ui_key);
        if (r >= 0)
                r = sparkauth_jws(raw + 32, SPARKAUTH_KEY_BYTES, JWS_HEADER, JWS_PAYLOAD, a->ui_token,
                                  sizeof a->ui_token);
        explicit_bzero(raw, sizeof raw);
        if (r < 0) {
                sparkauth_clear(a);
                return r;
        }
        return 0;
}

void sparkauth_clear(struct sparkauth *a) {
        if (a)
                explicit_bzero(a, sizeof *a);
}
