/*
 * slots/blockdev: what the kernel says about a block device number, from
 * sysfs and the device's node. Private to slots/ (identity.c builds
 * storage identities from it). Nothing here fails loudly: a question
 * sysfs cannot answer gets the plain answer (not a block device, its own
 * whole disk, no backing file).
 */
#ifndef SLOTS_BLOCKDEV_H
#define SLOTS_BLOCKDEV_H

#include <sys/types.h>

/* 1 if sysfs knows dev as a block device (tmpfs, overlayfs and btrfs
 * have none of their own). */
int	blockdev_is_block(dev_t dev);
/* The whole disk that block device dev belongs to: dev itself unless
 * sysfs says it is a partition. */
dev_t	blockdev_whole_disk(dev_t dev);
/* The backing file (*devp, *inop) of loop device dev, a whole disk: 1 if
 * dev is a bound loop device, else 0. fd is open on dev, or -1. */
int	blockdev_loop_backing(dev_t dev, int fd, dev_t *devp, ino_t *inop);

/* Reads sysfs (partitions, whole disks, device nodes) under root instead
 * of /sys; NULL restores /sys. For tests on machines whose kernel makes
 * no partitions of loop devices. */
void	blockdev_set_sysfs(const char *root);

#endif /* SLOTS_BLOCKDEV_H */
