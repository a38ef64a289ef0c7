/* Harness probe: the smallest multiboot2 kernel that exercises everything the
 * emulator harness relies on, independent of the hypervisor and guest kernel:
 * GRUB passes the command line and modules, COM1 reaches the serial log, and
 * the emulator-exit ports end the run. It prints
 *   natsume-probe: boot magic=ok
 *   natsume-probe: cmdline=<kernel command line>
 *   natsume-probe: module name=<module command line> size=<bytes>
 *   natsume-probe: pci BB:DD.F VVVV:DDDD line=<interrupt line> pin=<interrupt pin>
 *   natsume-probe: done modules=<N>
 * then shuts the emulator down. The pci lines list every function on bus 0,
 * so a scenario can check that the emulator's PCI slots are where it put them. */
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
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* PCI Local Bus Specification 3.0, 3.2.2.3.2: configuration mechanism #1. */
#define PCI_CONFIG_ADDRESS 0xcf8u
#define PCI_CONFIG_DATA    0xcfcu
#define PCI_ENABLE         0x80000000u
#define PCI_REG_ID         0x00u   /* vendor (15:0), device (31:16) */
#define PCI_REG_HEADER     0x0cu   /* header type in bits 23:16; bit 23 = multi-function */
#define PCI_REG_INTERRUPT  0x3cu   /* interrupt line (7:0), interrupt pin (15:8) */

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

static void puthex(uint32_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    char buf[9];
    for (int i = 0; i < digits; ++i) buf[i] = hex[(v >> (4 * (digits - 1 - i))) & 0xfu];
    buf[digits] = 0;
    puts_serial(buf);
}

static uint32_t pci_read(uint32_t dev, uint32_t fn, uint32_t reg) {
    outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | (dev << 11) | (fn << 8) | (reg & 0xfcu));
    return inl(PCI_CONFIG_DATA);
}

static void pci_function(uint32_t dev, uint32_t fn, uint32_t id) {
    uint32_t irq = pci_read(dev, fn, PCI_REG_INTERRUPT);
    puts_serial("natsume-probe: pci 00:");
    puthex(dev, 2);
    puts_serial(".");
    puthex(fn, 1);
    puts_serial(" ");
    puthex(id & 0xffffu, 4);
    puts_serial(":");
    puthex(id >> 16, 4);
    puts_serial(" line=");
    putu(irq & 0xffu);
    puts_serial(" pin=");
    putu((irq >> 8) & 0xffu);
    puts_serial("\n");
}

/* Bus 0 only: the emulators' slots are all there. */
static void pci_scan(void) {
    for (uint32_t dev = 0; dev < 32; ++dev) {
        uint32_t functions = 1;
        for (uint32_t fn = 0; fn < functions; ++fn) {
            uint32_t id = pci_read(dev, fn, PCI_REG_ID);
            if ((id & 0xffffu) == 0xffffu) continue;
            if (fn == 0 && (pci_read(dev, 0, PCI_REG_HEADER) & 0x00800000u)) functions = 8;
            pci_function(dev, fn, id);
        }
    }
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
        pci_scan();
        puts_serial("natsume-probe: done modules=");
        putu(n);
        puts_serial("\n");
    }
    shutdown_emulator();
}
