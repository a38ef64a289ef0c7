// A tiny static program whose only purpose is to be parsed and loaded by
// elf_test.cpp: text at 0x200000 (the entry), read-only data, data and bss.
const char sample_rodata[] = "natsume-elf-sample";
volatile unsigned long sample_data[4] = {0x1122334455667788ul, 2, 3, 4};
unsigned char sample_bss[8192];

void _start(void) {
    for (;;) {
        sample_bss[0]++;
        sample_data[1] += (unsigned long)sample_rodata[0];
        __asm__ volatile("hlt");
    }
}
