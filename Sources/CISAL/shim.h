#ifndef SHALE_CISAL_SHIM_H
#define SHALE_CISAL_SHIM_H
#include <isa-l/erasure_code.h>
#include <isa-l/crc.h>
#endif
