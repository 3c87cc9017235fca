/* sparkd_py.h — the Python sparkd runs in kernels and warm-ups.
 *
 * The sources are the files in daemon/py/ (plain Python, linted and tested as
 * such); the build turns each into one of these strings (daemon/py/py2c.py).
 *  - sparkd_py_sparkd_helpers: the module `_sparkd` installed in every
 *    kernel (session.c sends it with each start and stop; startup.c puts
 *    it at the head of the startup file);
 *  - sparkd_py_warmup_driver / sparkd_py_warmup_connect: the warm-ups of a
 *    warm driver JVM / Spark Connect server (prewarm.c), run after the
 *    helpers in one `python -c` program.
 */
#pragma once

extern const char sparkd_py_sparkd_helpers[];
extern const char sparkd_py_warmup_driver[];
extern const char sparkd_py_warmup_connect[];
