extern "C" {
#include <efi.h>
#include <efilib.h>
}

#include "console.hpp"
#include "firmware.hpp"
#include "loader_config.hpp"

namespace natsume::efi {
namespace {

constinit EFI_FILE_HANDLE volume_root = nullptr;
constexpr uint64_t BELOW_4G           = 0xffffffffull;

// Every firmware call goes through gnu-efi's wrapper (the firmware uses the Microsoft x64 convention).
#define EFI_CALL(fn, n, ...) uefi_call_wrapper(reinterpret_cast<void*>(fn), n, __VA_ARGS__)

uint64_t pages_of(uint64_t size) { return size == 0 ? 1 : (size + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE; }

void widen(const char* s, CHAR16* out, size_t cap) {
    size_t n = 0;
    for (; s[n] && n + 1 < cap; ++n) out[n] = static_cast<CHAR16>(static_cast<unsigned char>(s[n]));
    out[n] = 0;
}

// The directory of the loader's own file path ("\EFI\BOOT\BOOTX64.EFI" -> "\EFI\BOOT").
void directory_of(const CHAR16* path, char* dir, size_t cap) {
    size_t n = 0, last_sep = 0;
    for (size_t i = 0; path[i] && n + 1 < cap; ++i) {
        char c = path[i] == '/' ? '\\' : static_cast<char>(path[i] < 0x80 ? path[i] : '?');
        if (c == '\\' && n > 0 && dir[n - 1] == '\\') continue;  // joined device-path nodes
        if (c == '\\') last_sep = n;
        dir[n++] = c;
    }
    dir[last_sep] = '\0';  // "" for a file in the root
}

bool open_file(const char* path, EFI_FILE_HANDLE& f, uint64_t& size) {
    CHAR16 wide[MAX_PATH];
    widen(path, wide, MAX_PATH);
    EFI_STATUS s = EFI_CALL(volume_root->Open, 5, volume_root, &f, wide, EFI_FILE_MODE_READ, 0ull);
    if (EFI_ERROR(s)) {
        say("natsume.efi: cannot open %s on the boot volume: %s\n", path, status_text(s));
        return false;
    }
    EFI_FILE_INFO* info = LibFileInfo(f);
    if (!info) {
        say("natsume.efi: cannot read the size of %s\n", path);
        EFI_CALL(f->Close, 1, f);
        return false;
    }
    size = info->FileSize;
    FreePool(info);
    return true;
}

bool read_into(const char* path, EFI_FILE_HANDLE f, uint8_t* buf, uint64_t size) {
    for (uint64_t done = 0; done < size;) {
        UINTN n      = size - done;
        EFI_STATUS s = EFI_CALL(f->Read, 3, f, &n, buf + done);
        if (EFI_ERROR(s) || n == 0) {
            say("natsume.efi: reading %s stopped at byte %lu of %lu: %s\n", path, done, size,
                EFI_ERROR(s) ? status_text(s) : "end of file");
            EFI_CALL(f->Close, 1, f);
            return false;
        }
        done += n;
    }
    EFI_CALL(f->Close, 1, f);
    return true;
}

bool same_guid(const EFI_GUID& a, const EFI_GUID& b) { return __builtin_memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

const char* status_text(uint64_t status) {
    static CHAR16 wide[64];
    static char text[64];
    StatusToString(wide, status);
    size_t n = 0;
    for (; wide[n] && n + 1 < sizeof text; ++n) text[n] = static_cast<char>(wide[n] < 0x80 ? wide[n] : '?');
    text[n] = '\0';
    return text;
}

bool open_boot_volume(void* image_handle, char* dir, size_t dir_cap) {
    EFI_LOADED_IMAGE* li = nullptr;
    EFI_GUID lip         = LOADED_IMAGE_PROTOCOL;
    EFI_STATUS s         = EFI_CALL(BS->HandleProtocol, 3, image_handle, &lip, reinterpret_cast<void**>(&li));
    if (EFI_ERROR(s)) {
        say("natsume.efi: the firmware does not say where natsume.efi was loaded from: %s\n", status_text(s));
        return false;
    }
    volume_root = LibOpenRoot(li->DeviceHandle);
    if (!volume_root) {
        say("natsume.efi: cannot open the file system natsume.efi was loaded from (is it a FAT volume?)\n");
        return false;
    }
    CHAR16* path = li->FilePath ? DevicePathToStr(li->FilePath) : nullptr;
    if (path) {
        directory_of(path, dir, dir_cap);
        FreePool(path);
    } else {
        dir[0] = '\0';
    }
    return true;
}

bool read_file(const char* path, Blob& out) {
    EFI_FILE_HANDLE f;
    if (!open_file(path, f, out.size)) return false;
    out.data = static_cast<uint8_t*>(AllocatePool(out.size + 1));
    if (!out.data) {
        say("natsume.efi: no memory for %s (%lu bytes)\n", path, out.size);
        EFI_CALL(f->Close, 1, f);
        return false;
    }
    out.data[out.size] = 0;
    return read_into(path, f, out.data, out.size);
}

bool allocate_at(uint64_t base, uint64_t size) {
    EFI_PHYSICAL_ADDRESS a = base;
    return !EFI_ERROR(EFI_CALL(BS->AllocatePages, 4, AllocateAddress, EfiLoaderData, pages_of(size), &a));
}

uint8_t* allocate_low(uint64_t size, bool code) {
    EFI_PHYSICAL_ADDRESS a = BELOW_4G;
    EFI_STATUS s =
        EFI_CALL(BS->AllocatePages, 4, AllocateMaxAddress, code ? EfiLoaderCode : EfiLoaderData, pages_of(size), &a);
    return EFI_ERROR(s) ? nullptr : reinterpret_cast<uint8_t*>(a);
}

bool load_file_pages(const char* path, uint64_t at, Blob& out) {
    EFI_FILE_HANDLE f;
    if (!open_file(path, f, out.size)) return false;
    out.data = at + out.size <= BELOW_4G && allocate_at(at, out.size) ? reinterpret_cast<uint8_t*>(at) : nullptr;
    if (!out.data) out.data = allocate_low(out.size, false);
    if (!out.data) {
        say("natsume.efi: no free memory below 4 GiB for %s (%lu bytes)\n", path, out.size);
        EFI_CALL(f->Close, 1, f);
        return false;
    }
    return read_into(path, f, out.data, out.size);
}

Rsdp find_rsdp() {
    EFI_GUID v2 = ACPI_20_TABLE_GUID, v1 = ACPI_TABLE_GUID;
    Rsdp r{nullptr, nullptr};
    for (UINTN i = 0; i < ST->NumberOfTableEntries; ++i) {
        const EFI_CONFIGURATION_TABLE& t = ST->ConfigurationTable[i];
        if (same_guid(t.VendorGuid, v2) && !r.v2) r.v2 = static_cast<const uint8_t*>(t.VendorTable);
        if (same_guid(t.VendorGuid, v1) && !r.v1) r.v1 = static_cast<const uint8_t*>(t.VendorTable);
    }
    return r;
}

uint64_t system_table_address() { return reinterpret_cast<uint64_t>(ST); }

bool exit_boot_services(void* image_handle, FinalMap& out) {
    UINTN size = 0, key = 0, dsize = 0;
    UINT32 version = 0;
    (void)EFI_CALL(BS->GetMemoryMap, 5, &size, nullptr, &key, &dsize, &version);
    // Room for the descriptors this allocation itself adds, and a few more.
    const UINTN cap = size + 16 * (dsize ? dsize : 48);
    out.map         = static_cast<uint8_t*>(AllocatePool(cap));
    if (!out.map) {
        say("natsume.efi: no memory for the memory map (%lu bytes)\n", static_cast<uint64_t>(cap));
        return false;
    }
    console_firmware_gone();  // from here no firmware output: the map must not change
    for (int attempt = 0; attempt < 2; ++attempt) {
        size         = cap;
        EFI_STATUS s = EFI_CALL(BS->GetMemoryMap, 5, &size, reinterpret_cast<EFI_MEMORY_DESCRIPTOR*>(out.map), &key,
                                &dsize, &version);
        if (EFI_ERROR(s)) {
            say("natsume.efi: GetMemoryMap failed (attempt %d): status %#lx\n", attempt + 1, s);
            return false;
        }
        s = EFI_CALL(BS->ExitBootServices, 2, image_handle, key);
        if (!EFI_ERROR(s)) {
            out.size            = size;
            out.descriptor_size = dsize;
            return true;
        }
        if (s != EFI_INVALID_PARAMETER || attempt == 1) {
            // Boot services may be half gone: only the status number, no firmware call.
            say("natsume.efi: ExitBootServices failed (attempt %d): status %#lx\n", attempt + 1, s);
            return false;
        }
    }
    return false;
}

}  // namespace natsume::efi
