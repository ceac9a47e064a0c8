/*
 * host/create: `upkit bundle create`, in three rooms, each with its
 * header: inputs.h turns --image, --files and --linuxkit into payload
 * sources; compress.h compresses a source chunk by chunk on a pool of
 * threads; assemble.h writes and signs the bundle. create.c is the
 * command on top (cmd_bundle_create(), declared in agent/cmd.h). This
 * header gathers the three for callers that build whole bundles.
 */
#ifndef HOST_CREATE_H
#define HOST_CREATE_H

#include "host/assemble.h"
#include "host/compress.h"
#include "host/esp.h"
#include "host/inputs.h"

#endif /* HOST_CREATE_H */
