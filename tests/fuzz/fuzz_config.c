/* fuzz_config.c — cfg_parse on arbitrary bytes.
 *
 * Beyond "no crash, no leak": every configuration that parses must survive
 * the trip through the YAML writer (cfgy_emit → cfg_parse gives the same
 * document), and its summary and template context must build. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "config_yaml.h"
#include "strbuf.h"

static void check_round_trip(json_t *doc) {
        struct strbuf sb = STRBUF_INIT;
        json_t *again = NULL;
        char *err = NULL;
        if (cfgy_emit(&sb, doc) < 0)
                abort();
        if (sb.len <= CFG_MAX_FILE_SIZE) {
                if (cfg_parse("fuzz.yaml", sb.buf, sb.len, &again, &err) < 0)
                        abort();
                if (!json_equal(doc, again))
                        abort();
                json_decref(again);
        }
        sb_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *doc = NULL, *ctx = NULL;
        char *err = NULL;
        if (cfg_parse("fuzz.yaml", (const char *)data, size, &doc, &err) < 0) {
                if (!err)
                        abort();
                free(err);
                return 0;
        }
        check_round_trip(doc);
        struct cfg_entry e = {.name = "fuzz", .doc = doc};
        json_decref(cfg_summary(&e));
        if (cfg_context(&e, json_object_get(doc, "conf"), NULL, &ctx, &err) == 0)
                json_decref(ctx);
        else
                free(err);
        json_decref(doc);
        return 0;
}
