#include "daemon.h"

int sparkd_reload(struct sparkd *d) {
        struct cfg_set *s = NULL;
        int r = cfg_load((const char *const *)d->opts.config_dirs, d->opts.n_config_dirs,
                         d->opts.user_config_dir, d->opts.shipped_configs, &s);
        if (r < 0)
                return r;
        cfg_set_free(d->cfgs);
        d->cfgs = s;
        d->cfg_generation++;
        return 0;
}
