/* Unit tests for api.c: the route table, the shared checks and each
 * handler's statuses, driven with parsed requests (no sockets). */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "prewarm.h"
#include "session.h"
#include "ui.h"

static struct sparkd d;
static char base[] = "/tmp/sparkd-test-api-XXXXXX";
static char user_dir[256], ipy_dir[256], state_dir[256], startup[512], selection[512];

static int setup(void **state) {
        (void)state;
        if (!mkdtemp(base))
                return -1;
        snprintf(user_dir, sizeof user_dir, "%s/user", base);
        snprintf(ipy_dir, sizeof ipy_dir, "%s/ipython", base);
        snprintf(state_dir, sizeof state_dir, "%s/state", base);
        snprintf(startup, sizeof startup, "%s/profile_default/startup/99-sparkd.py", ipy_dir);
        snprintf(selection, sizeof selection, "%s/selection.json", state_dir);
        static char cfgdir[] = "configs";
        d.opts.config_dirs[0] = cfgdir;
        d.opts.n_config_dirs = 1;
        d.opts.user_config_dir = user_dir;
        d.opts.ipython_dir = ipy_dir;
        d.opts.state_dir = state_dir;
        d.startup_path = startup;
        d.selection_path = selection;
        if (sessions_init(&d) < 0 || prewarm_init(&d) < 0 || api_waits_init(&d) < 0 || ui_init(&d) < 0)
                return -1;
        return sparkd_reload(&d);
}

static int teardown(void **state) {
        (void)state;
        cfg_set_free(d.cfgs);
        api_waits_free(&d);
        sessions_free(&d);
        prewarm_free(&d);
        ui_free_all(&d);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        return system(cmd);
}

static struct http_request req;
static char raw[HTTP_MAX_HEAD + HTTP_MAX_BODY];

/* Sends one request (extra: header lines each ending in \r\n) and returns
 * the response; the caller frees resp->body. */
static struct api_response call(const char *method, const char *path, const char *extra,
                                const char *body) {
        size_t blen = body ? strlen(body) : 0;
        int n = snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\n%s%sContent-Length: %zu\r\n\r\n%s", method,
                         path, extra ? extra : "",
                         body && !(extra && strstr(extra, "Content-Type")) ? "Content-Type: application/json\r\n" : "",
                         blen, body ? body : "");
        assert_true(n > 0 && (size_t)n < sizeof raw);
        assert_int_equal(http_parse(raw, (size_t)n, &req, NULL), n);
        struct api_response resp;
        api_handle(&d, NULL, &req, &resp);
        return resp;
}

static const char *err_code(const struct api_response *r) {
        return json_string_value(json_object_get(json_object_get(r->body, "error"), "code"));
}

/* status + error code (NULL: no error expected) for one call */
static void expect(const char *method, const char *path, const char *extra, const char *body,
                   int status, const char *code) {
        struct api_response r = call(method, path, extra, body);
        if (r.status != status)
                fail_msg("%s %s: status %d, expected %d (%s)", method, path, r.status, status,
                         json_dumps(r.body, 0));
        if (code)
                assert_string_equal(err_code(&r), code);
        else if (r.body)
                assert_null(json_object_get(r.body, "error"));
        api_response_clear(&r);
}

static void test_health(void **state) {
        (void)state;
        struct api_response r = call("GET", "/api/health", NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.body, "status")), "ok");
        api_response_clear(&r);
}

static void test_routes_and_methods(void **state) {
        (void)state;
        expect("GET", "/api/nope", NULL, NULL, 404, "not_found");
        expect("GET", "/", NULL, NULL, 404, "not_found");
        expect("GET", "/api/configs/", NULL, NULL, 200, NULL); /* trailing slash */
        expect("PATCH", "/api/configs/local", NULL, NULL, 405, "method_not_allowed");
        struct api_response r = call("POST", "/api/health", NULL, NULL);
        assert_int_equal(r.status, 405);
        assert_non_null(strstr(r.extra_headers, "Allow: GET"));
        api_response_clear(&r);
}

static void test_names(void **state) {
        (void)state;
        expect("GET", "/api/configs/local", NULL, NULL, 200, NULL);
        expect("GET", "/api/configs/nope", NULL, NULL, 404, "config_not_found");
        expect("GET", "/api/configs/a%20b", NULL, NULL, 400, "invalid_name");
        expect("GET", "/api/configs/a$b", NULL, NULL, 400, "invalid_name");
        expect("POST", "/api/select", NULL, "{\"config\": \"..\"}", 400, "invalid_name");
        expect("POST", "/api/select", NULL, "{\"config\": 5}", 400, "invalid_request");
}

static void test_xsrf(void **state) {
        (void)state;
        const char *body = "{\"config\": \"local\"}";
        expect("POST", "/api/select", "Cookie: _xsrf=tok123\r\n", body, 403, "xsrf");
        expect("POST", "/api/select", "Cookie: _xsrf=tok123\r\nX-XSRFToken: tok12\r\n", body, 403, "xsrf");
        expect("POST", "/api/select", "Cookie: a=b\r\nX-XSRFToken: \r\n", body, 403, "xsrf");
        expect("POST", "/api/select", "Cookie: a=1; _xsrf=tok123\r\nX-XSRFToken: tok123\r\n", body, 200, NULL);
        expect("POST", "/api/select", NULL, body, 200, NULL);
        expect("GET", "/api/configs", "Cookie: _xsrf=tok123\r\n", NULL, 200, NULL);
        expect("DELETE", "/api/configs/local", "Cookie: _xsrf=x\r\n", NULL, 403, "xsrf");
}

static void test_bodies(void **state) {
        (void)state;
        expect("POST", "/api/select", "Content-Type: text/plain\r\n", "{\"config\": \"local\"}", 415,
               "unsupported_media_type");
        expect("POST", "/api/select", "Content-Type: application/json; charset=utf-8\r\n",
               "{\"config\": \"local\"}", 200, NULL);
        expect("POST", "/api/select", NULL, "{", 400, "invalid_json");
        expect("POST", "/api/select", NULL, "\"x\"", 400, "invalid_json");
        expect("POST", "/api/select", NULL, "{\"a\": 1, \"a\": 2}", 400, "invalid_json");
        expect("POST", "/api/select", NULL, "", 400, "invalid_request");
}

static void test_json_depth_limit(void **state) {
        (void)state;
        char body[256], err[128];
        json_t *v = NULL;
        /* API_MAX_JSON_DEPTH levels pass, one more fails */
        for (unsigned depth = API_MAX_JSON_DEPTH; depth <= API_MAX_JSON_DEPTH + 1; depth++) {
                size_t n = 0;
                body[n++] = '{';
                n += (size_t)snprintf(body + n, sizeof body - n, "\"a\":");
                for (unsigned i = 1; i < depth; i++)
                        body[n++] = '[';
                for (unsigned i = 1; i < depth; i++)
                        body[n++] = ']';
                body[n++] = '}';
                int r = api_parse_body(body, n, &v, err, sizeof err);
                if (depth == API_MAX_JSON_DEPTH) {
                        assert_int_equal(r, 0);
                        json_decref(v);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(strstr(err, "deeper"));
                }
        }
        /* brackets inside strings do not count */
        const char *s = "{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
        assert_int_equal(api_parse_body(s, strlen(s), &v, err, sizeof err), 0);
        json_decref(v);
}

static void test_render_and_overrides(void **state) {
        (void)state;
        struct api_response r = call("POST", "/api/configs/local/render", NULL,
                                     "{\"overrides\": {\"spark.driver.memory\": \"2g\"}}");
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(json_string_value(json_object_get(r.body, "code")), "\"2g\""));
        api_response_clear(&r);
        expect("POST", "/api/configs/local/render", NULL, NULL, 200, NULL);
        expect("POST", "/api/configs/local/render", NULL, "{\"overrides\": {\"spark.driver.memory\": \"99t\"}}",
               400, "invalid_override");
        expect("POST", "/api/configs/local/render", NULL, "{\"overrides\": 3}", 400, "invalid_request");
        expect("POST", "/api/configs/nope/render", NULL, NULL, 404, "config_not_found");
}

static void test_select_writes_startup(void **state) {
        (void)state;
        unlink(startup);
        expect("POST", "/api/select", NULL, "{\"config\": \"local-large\"}", 200, NULL);
        struct stat st;
        assert_int_equal(stat(startup, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(selection, &st), 0);
        struct api_response r = call("GET", "/api/select", NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(r.body, "config")), "local-large");
        api_response_clear(&r);
}

static void test_put_delete(void **state) {
        (void)state;
        expect("PUT", "/api/configs/mine", NULL, "{\"master\": \"local[2]\"}", 200, NULL);
        struct api_response r = call("GET", "/api/configs/mine", NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(r.body, "source")), "user");
        api_response_clear(&r);
        expect("PUT", "/api/configs/mine", NULL, "{\"master\": 1}", 400, "invalid_config");
        expect("PUT", "/api/configs/mine", NULL, "{\"name\": \"other\"}", 400, "invalid_config");
        expect("DELETE", "/api/configs/mine", NULL, NULL, 204, NULL);
        expect("DELETE", "/api/configs/mine", NULL, NULL, 404, "config_not_found");
        expect("DELETE", "/api/configs/local", NULL, NULL, 403, "not_a_user_config");
}

static void test_serialize(void **state) {
        (void)state;
        struct api_response r = {.status = 404, .body = api_error_body("not_found", "no %s", "thing")};
        size_t len;
        char *out = api_serialize(&r, true, &len);
        assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
        assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
        assert_non_null(strstr(out, "{\"error\":{\"code\":\"not_found\",\"message\":\"no thing\"}}"));
        free(out);
        api_response_clear(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_health),
                cmocka_unit_test(test_routes_and_methods),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_xsrf),
                cmocka_unit_test(test_bodies),
                cmocka_unit_test(test_json_depth_limit),
                cmocka_unit_test(test_render_and_overrides),
                cmocka_unit_test(test_select_writes_startup),
                cmocka_unit_test(test_put_delete),
                cmocka_unit_test(test_serialize),
        };
        return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
