#!/bin/sh
# Builds newlib's libc.a and libm.a for the guest kernel from Debian's
# newlib-source tarball, with the host gcc acting as an x86_64-elf compiler.
#
#   build-newlib.sh <tarball> <work dir> <compiler flags>
#
# Leaves <work dir>/install/x86_64-elf/{include,lib}. The code-model and
# red-zone flags must match the kernel's: newlib code runs on the kernel's
# stacks and is linked at the kernel's addresses. For x86_64-elf newlib's
# configure.host defines MISSING_SYSCALL_NAMES, so its reentrant wrappers call
# the plain names (write, sbrk, ...) that the kernel defines.
set -eu
tarball=$1
work=$2
flags=$3

rm -rf "$work/src" "$work/build" "$work/install"
mkdir -p "$work/src" "$work/build" "$work/install"
tar -xJf "$tarball" -C "$work/src"
src=$work/src/newlib-salsa

cd "$work/build"
"$src/configure" \
  --target=x86_64-elf --prefix="$work/install" \
  --disable-multilib --disable-newlib-supplied-syscalls \
  --disable-nls --enable-newlib-io-long-long \
  CC_FOR_TARGET="gcc $flags" \
  CFLAGS_FOR_TARGET="-O2 -g0" \
  AR_FOR_TARGET=ar AS_FOR_TARGET=as LD_FOR_TARGET=ld \
  RANLIB_FOR_TARGET=ranlib NM_FOR_TARGET=nm OBJCOPY_FOR_TARGET=objcopy \
  > configure.log 2>&1
make -j"$(nproc)" all-target-newlib > make.log 2>&1
make install-target-newlib > install.log 2>&1
# Only the two libraries and headers are kept; sources are large.
rm -rf "$work/src"
