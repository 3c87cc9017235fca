/* libFuzzer target: JSON request bodies through the API.
 *
 * The input is a request body.  It goes through api_parse_body, the PUT
 * validator (cfg_validate_json) and the render endpoint of the shipped
 * `local` configuration (overrides validation + template rendering).  Runs
 * from the repository root (configs/ is loaded once). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "daemon.h"
#include "http.h"

static struct sparkd d;

static void setup(void) {
        static char dir[] = "configs";
        d.opts.config_dirs[0] = dir;
        d.opts.n_config_dirs = 1;
        d.opts.ipython_dir = "/nonexistent";
        if (sparkd_reload(&d) < 0 || !cfg_find(d.cfgs, "local"))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!d.cfgs)
                setup();
        char err[256];
        json_t *body = NULL;
        if (api_parse_body((const char *)data, size, &body, err, sizeof err) == 0) {
                json_t *doc = NULL;
                char *verr = NULL;
                if (cfg_validate_json(body, &doc, &verr) == 0 && !doc)
                        abort();
                json_decref(doc);
                free(verr);
                json_decref(body);
        }
        static char raw[HTTP_MAX_BODY + 512];
        int n = snprintf(raw, sizeof raw,
                         "POST /api/configs/local/render HTTP/1.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n", size);
        if (size > sizeof raw - (size_t)n)
                return 0;
        memcpy(raw + n, data, size);
        static struct http_request req;
        if (http_parse(raw, (size_t)n + size, &req, NULL) <= 0)
                return 0;
        struct api_response resp;
        api_handle(&d, NULL, &req, &resp);
        if (resp.status < 200 || resp.status > 599)
                abort();
        size_t len;
        free(api_serialize(&resp, true, &len));
        api_response_clear(&resp);
        return 0;
}
