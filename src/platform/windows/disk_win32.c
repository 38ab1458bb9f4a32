/* The Win32 disk layer (disk.h): SetupAPI for the attached disk
 * (DEVPKEY_Device_UINumber = controller slot, DEVPKEY_Device_Address =
 * unit, as upstream's Get-PnpDeviceProperty), disk IOCTLs for state and
 * partitions, volume mount points for access paths, and PowerShell only
 * for the NTFS format, which has no Win32 API.  Never run on real Windows
 * (docs/windows.md); wine has none of it, so the tests use disk_sim.c. */
#include <windows.h>

#include <setupapi.h>
#include <winioctl.h>
/* After winioctl.h (whose GUIDs libuuid defines), before devpkey.h (whose
 * keys nothing defines). */
#include <initguid.h>

#include <devpkey.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "disk.h"
#include "winerr.h"

/* Missing from mingw-w64's winioctl.h; as in the Windows SDK's. */
#ifndef IOCTL_DISK_SET_DISK_ATTRIBUTES
#define IOCTL_DISK_SET_DISK_ATTRIBUTES                                        \
  CTL_CODE (IOCTL_DISK_BASE, 0x003d, METHOD_BUFFERED,                         \
            FILE_READ_ACCESS | FILE_WRITE_ACCESS)
#define DISK_ATTRIBUTE_OFFLINE 0x1ull
#define DISK_ATTRIBUTE_READ_ONLY 0x2ull
typedef struct
{
  DWORD Version;
  BOOLEAN Persist;
  BYTE Reserved1[3];
  DWORDLONG Attributes;
  DWORDLONG AttributesMask;
  DWORD Reserved2[4];
} SET_DISK_ATTRIBUTES;
#endif

/* GUID_DEVINTERFACE_DISK */
DEFINE_GUID (vdvs_disk_interface, 0x53f56307L, 0xb6bf, 0x11d0, 0x94, 0xf2,
             0x00, 0xa0, 0xc9, 0x1e, 0xfb, 0x8b);

static int
win_error (vdvs_error_t *err, const char *what, DWORD e)
{
  char msg[256];

  return vdvs_error_set (err, EIO, "%s: %s (error %lu)", what,
                         vdvs_win_error_text (e, msg, sizeof msg), e);
}

static bool
prop_u32 (HDEVINFO set, SP_DEVINFO_DATA *d, const DEVPROPKEY *key,
          unsigned long *out)
{
  DEVPROPTYPE t;
  UINT32 v;

  if (!SetupDiGetDevicePropertyW (set, d, key, &t, (PBYTE) &v, sizeof v, NULL,
                                  0)
      || t != DEVPROP_TYPE_UINT32)
    return false;
  *out = v;
  return true;
}

static int
device_number (const wchar_t *path, int *disk)
{
  HANDLE h = CreateFileW (path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                          OPEN_EXISTING, 0, NULL);
  STORAGE_DEVICE_NUMBER n;
  DWORD got;
  BOOL ok;

  if (h == INVALID_HANDLE_VALUE)
    return -1;
  ok = DeviceIoControl (h, IOCTL_STORAGE_GET_DEVICE_NUMBER, NULL, 0, &n,
                        sizeof n, &got, NULL);
  CloseHandle (h);
  if (!ok)
    return -1;
  *disk = (int) n.DeviceNumber;
  return 0;
}

static int
w32_find (const struct vdvs_device_roots *roots, const struct vdvs_device *dev,
          int *disk, vdvs_error_t *err)
{
  unsigned long slot = strtoul (dev->pci_slot, NULL, 10);
  unsigned long unit = strtoul (dev->unit, NULL, 10);
  HDEVINFO set;
  SP_DEVICE_INTERFACE_DATA ifd = { .cbSize = sizeof ifd };
  int found = 0;

  (void) roots;
  set = SetupDiGetClassDevsW (&vdvs_disk_interface, NULL, NULL,
                              DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
  if (set == INVALID_HANDLE_VALUE)
    return win_error (err, "SetupDiGetClassDevs (disks)", GetLastError ());
  for (DWORD i = 0;
       found == 0
       && SetupDiEnumDeviceInterfaces (set, NULL, &vdvs_disk_interface, i,
                                       &ifd);
       i++)
    {
      SP_DEVINFO_DATA d = { .cbSize = sizeof d };
      SP_DEVICE_INTERFACE_DETAIL_DATA_W *detail;
      DWORD need = 0;
      unsigned long ui, addr;

      SetupDiGetDeviceInterfaceDetailW (set, &ifd, NULL, 0, &need, &d);
      if (need == 0 || (detail = calloc (1, need)) == NULL)
        continue;
      detail->cbSize = sizeof *detail;
      if (SetupDiGetDeviceInterfaceDetailW (set, &ifd, detail, need, NULL, &d)
          && prop_u32 (set, &d, &DEVPKEY_Device_UINumber, &ui)
          && prop_u32 (set, &d, &DEVPKEY_Device_Address, &addr) && ui == slot
          && addr == unit && device_number (detail->DevicePath, disk) == 0)
        found = 1;
      free (detail);
    }
  SetupDiDestroyDeviceInfoList (set);
  return found;
}

static HANDLE
open_disk (int disk, bool write, vdvs_error_t *err)
{
  wchar_t path[64];
  HANDLE h;

  swprintf (path, 64, L"\\\\.\\PhysicalDrive%d", disk);
  h = CreateFileW (path, GENERIC_READ | (write ? GENERIC_WRITE : 0),
                   FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
                   NULL);
  if (h == INVALID_HANDLE_VALUE)
    {
      char what[64];
      snprintf (what, sizeof what, "cannot open \\\\.\\PhysicalDrive%d", disk);
      win_error (err, what, GetLastError ());
    }
  return h;
}

static int
ioctl (int disk, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len,
       const char *what, vdvs_error_t *err)
{
  HANDLE h = open_disk (disk, true, err);
  DWORD got;
  BOOL ok;

  if (h == INVALID_HANDLE_VALUE)
    return -1;
  ok = DeviceIoControl (h, code, in, in_len, out, out_len, &got, NULL);
  if (!ok)
    {
      DWORD e = GetLastError ();
      CloseHandle (h);
      return win_error (err, what, e);
    }
  /* Let the partition manager see the change. */
  DeviceIoControl (h, IOCTL_DISK_UPDATE_PROPERTIES, NULL, 0, NULL, 0, &got,
                   NULL);
  CloseHandle (h);
  return 0;
}

static int
set_attribute (int disk, DWORDLONG attr, bool on, const char *what,
               vdvs_error_t *err)
{
  SET_DISK_ATTRIBUTES a = { .Version = sizeof a, .Persist = TRUE };

  a.Attributes = on ? attr : 0;
  a.AttributesMask = attr;
  return ioctl (disk, IOCTL_DISK_SET_DISK_ATTRIBUTES, &a, sizeof a, NULL, 0,
                what, err);
}

static int
w32_set_online (int disk, bool online, vdvs_error_t *err)
{
  return set_attribute (disk, DISK_ATTRIBUTE_OFFLINE, !online,
                        online ? "bringing the disk online"
                               : "taking the disk offline",
                        err);
}

static int
w32_set_read_only (int disk, bool read_only, vdvs_error_t *err)
{
  return set_attribute (disk, DISK_ATTRIBUTE_READ_ONLY, read_only,
                        "setting the disk's read-only attribute", err);
}

static int
w32_size (int disk, uint64_t *bytes, vdvs_error_t *err)
{
  HANDLE h = open_disk (disk, false, err);
  GET_LENGTH_INFORMATION l;
  DWORD got;
  BOOL ok;

  if (h == INVALID_HANDLE_VALUE)
    return -1;
  ok = DeviceIoControl (h, IOCTL_DISK_GET_LENGTH_INFO, NULL, 0, &l, sizeof l,
                        &got, NULL);
  CloseHandle (h);
  if (!ok)
    return win_error (err, "IOCTL_DISK_GET_LENGTH_INFO", GetLastError ());
  *bytes = (uint64_t) l.Length.QuadPart;
  return 0;
}

/* Raw reads go through a 4 KiB-aligned buffer: disks with 4 KiB sectors
 * refuse smaller or unaligned ones. */
static int
w32_read (int disk, uint64_t off, void *buf, size_t n, vdvs_error_t *err)
{
  HANDLE h = open_disk (disk, false, err);
  uint64_t start = off & ~(uint64_t) 4095;
  size_t span = (size_t) (((off + n + 4095) & ~(uint64_t) 4095) - start);
  uint8_t *b;
  OVERLAPPED o = { 0 };
  DWORD got = 0;
  BOOL ok;

  if (h == INVALID_HANDLE_VALUE)
    return -1;
  if ((b = _aligned_malloc (span, 4096)) == NULL)
    {
      CloseHandle (h);
      return vdvs_error_set (err, ENOMEM, "out of memory");
    }
  o.Offset = (DWORD) start;
  o.OffsetHigh = (DWORD) (start >> 32);
  ok = ReadFile (h, b, (DWORD) span, &got, &o);
  if (ok && got == span)
    memcpy (buf, b + (off - start), n);
  else
    win_error (err, "reading the disk",
               ok ? ERROR_HANDLE_EOF : GetLastError ());
  _aligned_free (b);
  CloseHandle (h);
  return ok && got == span ? 0 : -1;
}

static int
w32_partition (int disk, uint32_t sig, uint64_t sectors, vdvs_error_t *err)
{
  CREATE_DISK c = { .PartitionStyle = PARTITION_STYLE_MBR };
  size_t len = offsetof (DRIVE_LAYOUT_INFORMATION_EX, PartitionEntry)
               + 4 * sizeof (PARTITION_INFORMATION_EX);
  DRIVE_LAYOUT_INFORMATION_EX *l = calloc (1, len);
  int r;

  if (l == NULL)
    return vdvs_error_set (err, ENOMEM, "out of memory");
  c.Mbr.Signature = sig;
  /* MBR keeps four entries; only the first is used. */
  l->PartitionStyle = PARTITION_STYLE_MBR;
  l->PartitionCount = 4;
  l->Mbr.Signature = sig;
  for (int i = 0; i < 4; i++)
    {
      l->PartitionEntry[i].PartitionStyle = PARTITION_STYLE_MBR;
      l->PartitionEntry[i].RewritePartition = TRUE;
    }
  l->PartitionEntry[0].StartingOffset.QuadPart = (LONGLONG) VDVS_WIN_PART_LBA
                                                 * VDVS_WIN_SECTOR;
  l->PartitionEntry[0].PartitionLength.QuadPart =
      (LONGLONG) (sectors * VDVS_WIN_SECTOR);
  l->PartitionEntry[0].PartitionNumber = 1;
  l->PartitionEntry[0].Mbr.PartitionType = PARTITION_IFS;
  l->PartitionEntry[0].Mbr.RecognizedPartition = TRUE;
  l->PartitionEntry[0].Mbr.HiddenSectors = VDVS_WIN_PART_LBA;
  r = ioctl (disk, IOCTL_DISK_CREATE_DISK, &c, sizeof c, NULL, 0,
             "IOCTL_DISK_CREATE_DISK (MBR)", err);
  if (r == 0)
    r = ioctl (disk, IOCTL_DISK_SET_DRIVE_LAYOUT_EX, l, (DWORD) len, NULL, 0,
               "IOCTL_DISK_SET_DRIVE_LAYOUT_EX", err);
  free (l);
  return r;
}

/* The one PowerShell runner: -EncodedCommand (no quoting of the script on
 * a command line), stdout and stderr captured, bounded, and the result
 * checked by vdvs_win_ps_check. */
static int
run_powershell (const char *script, const char *tag, const char *want,
                vdvs_error_t *err)
{
  static char enc[16384];
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  char cmd[17000], out[8192];
  size_t used = 0;
  SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
  HANDLE rd, wr;
  STARTUPINFOA si = { .cb = sizeof si };
  PROCESS_INFORMATION pi;
  DWORD status = 1, got;
  int r;

  pthread_mutex_lock (&lock);
  if (vdvs_win_ps_encode (script, enc, sizeof enc) < 0)
    {
      pthread_mutex_unlock (&lock);
      return vdvs_error_set (err, E2BIG, "PowerShell script too long");
    }
  snprintf (cmd, sizeof cmd,
            "powershell.exe -NoLogo -NoProfile -NonInteractive "
            "-ExecutionPolicy Bypass -EncodedCommand %s",
            enc);
  pthread_mutex_unlock (&lock);
  if (!CreatePipe (&rd, &wr, &sa, 0))
    return win_error (err, "CreatePipe", GetLastError ());
  SetHandleInformation (rd, HANDLE_FLAG_INHERIT, 0);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = INVALID_HANDLE_VALUE;
  si.hStdOutput = si.hStdError = wr;
  if (!CreateProcessA (NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL,
                       NULL, &si, &pi))
    {
      DWORD e = GetLastError ();
      CloseHandle (rd);
      CloseHandle (wr);
      return win_error (err, "cannot start powershell.exe", e);
    }
  CloseHandle (wr);
  while (ReadFile (rd, out + used, (DWORD) (sizeof out - 1 - used), &got, NULL)
         && got > 0)
    {
      used += got;
      if (used == sizeof out - 1)
        {
          char sink[512];
          while (ReadFile (rd, sink, sizeof sink, &got, NULL) && got > 0)
            ;
          break;
        }
    }
  out[used] = '\0';
  CloseHandle (rd);
  /* Output ended: the process is exiting; a quick format of a new disk
   * takes seconds, a hung one is ended. */
  if (WaitForSingleObject (pi.hProcess, 10 * 60 * 1000) != WAIT_OBJECT_0)
    {
      TerminateProcess (pi.hProcess, 1);
      WaitForSingleObject (pi.hProcess, 5000);
    }
  GetExitCodeProcess (pi.hProcess, &status);
  CloseHandle (pi.hProcess);
  CloseHandle (pi.hThread);
  r = vdvs_win_ps_check ((int) status, out, tag, want, err);
  return r;
}

static int
w32_format (int disk, const char *label, vdvs_error_t *err)
{
  char script[1024];

  if (vdvs_win_format_script (disk, label, script, sizeof script) < 0)
    return vdvs_error_set (err, E2BIG, "label too long: %s", label);
  return run_powershell (script, VDVS_WIN_FORMAT_TAG, "NTFS", err);
}

/* The disk of volume `vol` ("\\?\Volume{...}\"), or -1. */
static int
volume_disk (const wchar_t *vol)
{
  wchar_t path[MAX_PATH];
  size_t n = wcslen (vol);
  HANDLE h;
  VOLUME_DISK_EXTENTS x;
  DWORD got;
  BOOL ok;

  if (n == 0 || n >= MAX_PATH)
    return -1;
  wcscpy (path, vol);
  path[n - 1] = L'\0'; /* the volume itself, not its root directory */
  h = CreateFileW (path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                   OPEN_EXISTING, 0, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return -1;
  ok = DeviceIoControl (h, IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS, NULL, 0, &x,
                        sizeof x, &got, NULL);
  CloseHandle (h);
  return ok && x.NumberOfDiskExtents == 1 ? (int) x.Extents[0].DiskNumber : -1;
}

/* Call fn for each volume: its GUID path and disk. false stops. */
static int
each_volume (bool (*fn) (const wchar_t *vol, int disk, void *opaque),
             void *opaque, vdvs_error_t *err)
{
  wchar_t vol[MAX_PATH];
  HANDLE f = FindFirstVolumeW (vol, MAX_PATH);

  if (f == INVALID_HANDLE_VALUE)
    return win_error (err, "FindFirstVolume", GetLastError ());
  do
    if (!fn (vol, volume_disk (vol), opaque))
      break;
  while (FindNextVolumeW (f, vol, MAX_PATH));
  FindVolumeClose (f);
  return 0;
}

struct vol_of
{
  int disk;
  wchar_t vol[MAX_PATH];
};

static bool
vol_of_cb (const wchar_t *vol, int disk, void *opaque)
{
  struct vol_of *v = opaque;

  if (disk != v->disk)
    return true;
  wcscpy (v->vol, vol);
  return false;
}

static int
to_wide (const char *s, wchar_t *out, int len, vdvs_error_t *err)
{
  if (MultiByteToWideChar (CP_UTF8, 0, s, -1, out, len) == 0)
    return vdvs_error_set (err, EINVAL, "`%s` is not a valid path", s);
  return 0;
}

static int
w32_add_path (int disk, const char *dir, vdvs_error_t *err)
{
  struct vol_of v = { .disk = disk };
  wchar_t wdir[1024];

  if (to_wide (dir, wdir, 1024, err) < 0
      || each_volume (vol_of_cb, &v, err) < 0)
    return -1;
  if (v.vol[0] == L'\0')
    return vdvs_error_set (err, ENODEV, "disk %d has no volume", disk);
  if (!SetVolumeMountPointW (wdir, v.vol))
    return win_error (err, "SetVolumeMountPoint", GetLastError ());
  return 0;
}

static int
w32_remove_path (const char *dir, vdvs_error_t *err)
{
  wchar_t wdir[1024];

  if (to_wide (dir, wdir, 1024, err) < 0)
    return -1;
  if (!DeleteVolumeMountPointW (wdir))
    return win_error (err, "DeleteVolumeMountPoint", GetLastError ());
  return 0;
}

struct paths_walk
{
  void (*fn) (const char *dir, int disk, void *opaque);
  void *opaque;
};

static bool
paths_cb (const wchar_t *vol, int disk, void *opaque)
{
  struct paths_walk *w = opaque;
  wchar_t names[4096];
  DWORD need;

  if (disk < 0 || !GetVolumePathNamesForVolumeNameW (vol, names, 4096, &need))
    return true;
  for (wchar_t *p = names; *p; p += wcslen (p) + 1)
    {
      char dir[1024];
      if (WideCharToMultiByte (CP_UTF8, 0, p, -1, dir, sizeof dir, NULL, NULL)
          > 0)
        w->fn (dir, disk, w->opaque);
    }
  return true;
}

static int
w32_paths (void (*fn) (const char *dir, int disk, void *opaque), void *opaque,
           vdvs_error_t *err)
{
  struct paths_walk w = { fn, opaque };

  return each_volume (paths_cb, &w, err);
}

const struct vdvs_win_disk_ops vdvs_win_disk_win32 = {
  .name = "win32",
  .find = w32_find,
  .set_online = w32_set_online,
  .set_read_only = w32_set_read_only,
  .size = w32_size,
  .read = w32_read,
  .partition = w32_partition,
  .format = w32_format,
  .add_path = w32_add_path,
  .remove_path = w32_remove_path,
  .paths = w32_paths,
};
