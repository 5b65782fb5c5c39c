/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A SQLite VFS for fault injection (SQLite's own habit): it wraps the default VFS and,
 * while fault_vfs_fail is set, answers every write and sync with that error (SQLITE_FULL
 * for a full disk, SQLITE_IOERR_WRITE for an I/O error). With fault_vfs_room at 0 or more
 * it models a disk with that many bytes free: a write that grows a file takes from it,
 * one that would grow past it fails with SQLITE_FULL, and what a failed transaction
 * already grew stays grown (a real full disk). Registered as the default VFS,
 * so every store a test opens after fault_vfs_install goes through it.
 */
#ifndef FULCRUM_TESTS_FAULTVFS_H
#define FULCRUM_TESTS_FAULTVFS_H

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int fault_vfs_fail; /* 0: pass through; else the error every write returns */
static sqlite3_int64 fault_vfs_room = -1; /* bytes the disk has free; -1: unlimited */
static sqlite3_vfs *fault_base;
static sqlite3_vfs fault_vfs;
static struct sqlite3_io_methods fault_io;

struct fault_file {
	sqlite3_file base; /* our methods */
	sqlite3_file *real;
};

static int fault_close(sqlite3_file *f)
{
	struct fault_file *ff = (struct fault_file *)f;
	int rc = ff->real->pMethods ? ff->real->pMethods->xClose(ff->real) : SQLITE_OK;
	free(ff->real);
	return rc;
}
static int fault_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xRead(ff->real, b, n, o);
}
static int fault_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	struct fault_file *ff = (struct fault_file *)f;
	if (fault_vfs_fail)
		return fault_vfs_fail;
	sqlite3_int64 size = 0;
	if (fault_vfs_room >= 0 && ff->real->pMethods->xFileSize(ff->real, &size) == SQLITE_OK &&
	    o + n > size) {
		if (o + n - size > fault_vfs_room)
			return SQLITE_FULL;
		fault_vfs_room -= o + n - size;
	}
	return ff->real->pMethods->xWrite(ff->real, b, n, o);
}
static int fault_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct fault_file *ff = (struct fault_file *)f;
	return fault_vfs_fail ? fault_vfs_fail : ff->real->pMethods->xTruncate(ff->real, size);
}
static int fault_sync(sqlite3_file *f, int flags)
{
	struct fault_file *ff = (struct fault_file *)f;
	return fault_vfs_fail ? SQLITE_IOERR_FSYNC : ff->real->pMethods->xSync(ff->real, flags);
}
static int fault_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xFileSize(ff->real, size);
}
static int fault_lock(sqlite3_file *f, int l)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xLock(ff->real, l);
}
static int fault_unlock(sqlite3_file *f, int l)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xUnlock(ff->real, l);
}
static int fault_check_lock(sqlite3_file *f, int *out)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xCheckReservedLock(ff->real, out);
}
static int fault_fcntl(sqlite3_file *f, int op, void *arg)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xFileControl(ff->real, op, arg);
}
static int fault_sector(sqlite3_file *f)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xSectorSize(ff->real);
}
static int fault_dev(sqlite3_file *f)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xDeviceCharacteristics(ff->real);
}
static int fault_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xShmMap(ff->real, pg, sz, extend, pp);
}
static int fault_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xShmLock(ff->real, off, n, flags);
}
static void fault_shm_barrier(sqlite3_file *f)
{
	struct fault_file *ff = (struct fault_file *)f;
	ff->real->pMethods->xShmBarrier(ff->real);
}
static int fault_shm_unmap(sqlite3_file *f, int del)
{
	struct fault_file *ff = (struct fault_file *)f;
	return ff->real->pMethods->xShmUnmap(ff->real, del);
}

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		      int *out_flags)
{
	(void)vfs;
	struct fault_file *ff = (struct fault_file *)f;
	ff->real = calloc(1, (size_t)fault_base->szOsFile);
	if (!ff->real)
		return SQLITE_NOMEM;
	int rc = fault_base->xOpen(fault_base, name, ff->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		free(ff->real);
		ff->base.pMethods = NULL;
		return rc;
	}
	ff->base.pMethods = &fault_io;
	return SQLITE_OK;
}

/* Route every store opened from now on through the fault VFS (idempotent). */
static inline void fault_vfs_install(void)
{
	if (fault_base)
		return;
	fault_base = sqlite3_vfs_find(NULL);
	fault_vfs = *fault_base;
	fault_vfs.zName = "fault";
	fault_vfs.szOsFile = (int)sizeof(struct fault_file);
	fault_vfs.xOpen = fault_open;
	fault_vfs.iVersion = 2; /* no xSetSystemCall & co.: the base's are used directly */
	fault_io = (struct sqlite3_io_methods){
		2,	     fault_close,      fault_read,	 fault_write,	 fault_truncate,
		fault_sync,  fault_size,       fault_lock,	 fault_unlock,	 fault_check_lock,
		fault_fcntl, fault_sector,     fault_dev,	 fault_shm_map,	 fault_shm_lock,
		fault_shm_barrier, fault_shm_unmap, NULL, NULL};
	sqlite3_vfs_register(&fault_vfs, 1);
}

#endif
