/* Harness probe: the smallest multiboot2 kernel that exercises everything the
 * emulator harness relies on, independent of the hypervisor and guest kernel:
 * GRUB passes the command line and modules, COM1 reaches the serial log, and
 * the emulator-exit ports end the run. It prints
 *   natsume-probe: boot magic=ok
 *   natsume-probe: cmdline=<kernel command line>
 *   natsume-probe: module name=<module command line> size=<bytes>
 *   natsume-probe: done modules=<N>
 * then shuts the emulator down. */
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u  /* Multiboot2 spec 3.2 */
#define MB2_TAG_END     0u
#define MB2_TAG_CMDLINE 1u
#define MB2_TAG_MODULE  3u

#define COM1 0x3f8u
#define UART_LSR 5u
#define LSR_THRE 0x20u  /* transmit holding register empty */
#define LSR_TEMT 0x40u  /* transmitter fully idle: the last byte has left */

#define BOCHS_SHUTDOWN_PORT 0x8900u  /* Bochs: the string "Shutdown" powers off */
#define QEMU_DEBUG_EXIT_PORT 0xf4u   /* isa-debug-exit: status = (value << 1) | 1 */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void uart_init(void) {
    outb(COM1 + 1, 0x00);  /* no interrupts */
    outb(COM1 + 3, 0x80);  /* DLAB */
    outb(COM1 + 0, 0x01);  /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);  /* 8N1 */
    outb(COM1 + 2, 0x07);  /* FIFO on, cleared */
}

static void putc_serial(char c) {
    while (!(inb(COM1 + UART_LSR) & LSR_THRE)) {}
    outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s) {
    for (; *s; ++s) {
        if (*s == '\n') putc_serial('\r');
        putc_serial(*s);
    }
}

static void putu(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10u); v /= 10u; } while (v && i > 0);
    puts_serial(&buf[i]);
}

static void shutdown_emulator(void) {
    while (!(inb(COM1 + UART_LSR) & LSR_TEMT)) {}
    const char *s = "Shutdown";
    for (; *s; ++s) outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
    outb(QEMU_DEBUG_EXIT_PORT, 0);
}

struct mb2_tag { uint32_t type, size; };
struct mb2_module { uint32_t type, size, mod_start, mod_end; char cmdline[]; };

static uint32_t walk_tags(const uint8_t *info) {
    uint32_t modules = 0;
    const uint8_t *p = info + 8;  /* total_size, reserved */
    for (;;) {
        const struct mb2_tag *tag = (const struct mb2_tag *)p;
        if (tag->type == MB2_TAG_END) break;
        if (tag->type == MB2_TAG_CMDLINE) {
            puts_serial("natsume-probe: cmdline=");
            puts_serial((const char *)(p + 8));
            puts_serial("\n");
        } else if (tag->type == MB2_TAG_MODULE) {
            const struct mb2_module *m = (const struct mb2_module *)p;
            puts_serial("natsume-probe: module name=");
            puts_serial(m->cmdline);
            puts_serial(" size=");
            putu(m->mod_end - m->mod_start);
            puts_serial("\n");
            ++modules;
        }
        p += (tag->size + 7u) & ~7u;  /* tags are 8-byte aligned */
    }
    return modules;
}

void probe_main(uint32_t magic, const uint8_t *info) {
    uart_init();
    if (magic != MB2_BOOTLOADER_MAGIC) {
        puts_serial("natsume-probe: boot magic=bad\n");
    } else {
        puts_serial("natsume-probe: boot magic=ok\n");
        uint32_t n = walk_tags(info);
        puts_serial("natsume-probe: done modules=");
        putu(n);
        puts_serial("\n");
    }
    shutdown_emulator();
}
