/*
 * What sysfs and the device nodes say about a block device number:
 * whether it is one, the whole disk of a partition, and a loop device's
 * backing file. sysfs only names things; a node found through it is
 * opened and its st_rdev checked, and the backing file comes from
 * LOOP_GET_STATUS64 (dev, inode), not from sysfs's path string, which
 * may have been renamed or deleted since. See slots/blockdev.h.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "slots/blockdev.h"

#define LOOP_MAJOR	7

/* Where sysfs is: "/sys", or a test's fake tree (blockdev_set_sysfs). */
static char sysfs[1024] = "/sys";

void
blockdev_set_sysfs(const char *root)
{
	snprintf(sysfs, sizeof(sysfs), "%s", root != NULL ? root : "/sys");
}

static int
sysfs_path(char *buf, size_t len, dev_t dev, const char *what)
{
	return snprintf(buf, len, "%s/dev/block/%u:%u%s", sysfs, major(dev),
	    minor(dev), what) < (int)len ? 0 : -ENAMETOOLONG;
}

int
blockdev_is_block(dev_t dev)
{
	char p[4096];

	return major(dev) != 0 && sysfs_path(p, sizeof(p), dev, "") == 0 &&
	    access(p, F_OK) == 0;
}

dev_t
blockdev_whole_disk(dev_t dev)
{
	char p[4096];
	unsigned int ma, mi;
	FILE *f;
	int n;

	if (sysfs_path(p, sizeof(p), dev, "/partition") < 0 ||
	    access(p, F_OK) != 0)
		return dev;
	/* The link is followed before "..": this is the disk's folder. */
	if (sysfs_path(p, sizeof(p), dev, "/../dev") < 0 ||
	    (f = fopen(p, "re")) == NULL)
		return dev;
	n = fscanf(f, "%u:%u", &ma, &mi);
	fclose(f);
	return n == 2 ? makedev(ma, mi) : dev;
}

/* An open fd on the node of block device dev, found by name and checked
 * by number; -1 if none. */
static int
open_node(dev_t dev)
{
	char p[4096], line[256], node[300];
	struct stat st;
	FILE *f;
	int fd, i;

	for (i = 0; i < 2; i++) {
		if (i == 0)
			snprintf(node, sizeof(node), "/dev/block/%u:%u",
			    major(dev), minor(dev));
		else {
			node[0] = '\0';
			if (sysfs_path(p, sizeof(p), dev, "/uevent") < 0 ||
			    (f = fopen(p, "re")) == NULL)
				continue;
			while (fgets(line, sizeof(line), f) != NULL)
				if (strncmp(line, "DEVNAME=", 8) == 0) {
					line[strcspn(line, "\n")] = '\0';
					snprintf(node, sizeof(node), "/dev/%s",
					    line + 8);
				}
			fclose(f);
			if (node[0] == '\0')
				continue;
		}
		fd = open(node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd == -1)
			continue;
		if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) &&
		    st.st_rdev == dev)
			return fd;
		close(fd);
	}
	return -1;
}

int
blockdev_loop_backing(dev_t dev, int fd, dev_t *devp, ino_t *inop)
{
	struct loop_info64 li;
	char p[4096];
	uint64_t d;
	int own = -1, r = 0;

	if (major(dev) != LOOP_MAJOR && (sysfs_path(p, sizeof(p), dev,
	    "/loop") < 0 || access(p, F_OK) != 0))
		return 0;
	if (fd == -1 && (fd = own = open_node(dev)) == -1)
		return 0;
	memset(&li, 0, sizeof(li));
	if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0) {
		/* The kernel's huge_encode_dev(): 12-bit major, 20-bit minor
		 * split around it. */
		d = li.lo_device;
		*devp = makedev((unsigned int)((d & 0xfff00) >> 8),
		    (unsigned int)((d & 0xff) | ((d >> 12) & 0xfff00)));
		*inop = (ino_t)li.lo_inode;
		r = 1;
	}
	if (own != -1)
		close(own);
	return r;
}
