// The system hooks newlib calls (built with --disable-newlib-supplied-syscalls).
// newlib for x86_64-elf is configured with MISSING_SYSCALL_NAMES: its
// reentrant wrappers (_write_r, _sbrk_r, ...) call the plain names defined
// here. The underscored names are aliases for code that expects them.
// There is one console and one heap; there are no files or processes.
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "boot/boot.h"
#include "kernel/console.h"
#include "kernel/machine.h"

namespace natsume::guest {
namespace {
uintptr_t g_brk = 0;

bool is_console(int fd) { return fd >= 0 && fd <= 2; }
}  // namespace
}  // namespace natsume::guest

extern "C" {

using namespace natsume::guest;

// The heap grows from the end of the image to the bottom of the stack region
// (or to a DMA window inside RAM, boot::Context::heap_end).
void* sbrk(ptrdiff_t incr) {
    const boot::Context& c = boot::context();
    if (g_brk == 0) g_brk = c.image_end;
    uintptr_t limit = c.heap_end;
    uintptr_t old   = g_brk;
    if ((incr > 0 && static_cast<uintptr_t>(incr) > limit - old) ||
        (incr < 0 && static_cast<uintptr_t>(-incr) > old - c.image_end)) {
        errno = ENOMEM;
        return reinterpret_cast<void*>(-1);
    }
    g_brk = old + static_cast<uintptr_t>(incr);
    return reinterpret_cast<void*>(old);
}

int write(int fd, const char* buf, int len) {
    if (!is_console(fd) || len < 0) {
        errno = EBADF;
        return -1;
    }
    console::write(buf, static_cast<size_t>(len));
    return len;
}

int read(int fd, char*, int) {
    if (!is_console(fd)) {
        errno = EBADF;
        return -1;
    }
    return 0;  // no input source: end of file
}

int close(int fd) {
    errno = EBADF;
    return is_console(fd) ? 0 : -1;
}

int fstat(int fd, struct stat* st) {
    if (!is_console(fd)) {
        errno = EBADF;
        return -1;
    }
    st->st_mode = S_IFCHR;
    return 0;
}

int isatty(int fd) { return is_console(fd) ? 1 : 0; }

off_t lseek(int, off_t, int) {
    errno = ESPIPE;
    return -1;
}

int open(const char*, int, ...) {
    errno = ENOENT;
    return -1;
}

int getpid() { return 1; }

int kill(int, int) {
    errno = EINVAL;
    return -1;
}

[[noreturn]] void _exit(int code) { machine::stop(static_cast<uint64_t>(code)); }

#define NATSUME_ALIAS(name, target) decltype(target) name __attribute__((alias(#target)))
NATSUME_ALIAS(_sbrk, sbrk);
NATSUME_ALIAS(_write, write);
NATSUME_ALIAS(_read, read);
NATSUME_ALIAS(_close, close);
NATSUME_ALIAS(_fstat, fstat);
NATSUME_ALIAS(_isatty, isatty);
NATSUME_ALIAS(_lseek, lseek);
NATSUME_ALIAS(_getpid, getpid);
NATSUME_ALIAS(_kill, kill);

}  // extern "C"
