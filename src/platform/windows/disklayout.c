/* The plain C of the Windows disk layer (disk.h): no Windows call here, so
 * a Linux unit test runs all of it. */
#include "disk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
digits (const char *s)
{
  return s[0] != '\0' && strspn (s, "0123456789") == strlen (s);
}

int
vdvs_win_device_id (const struct vdvs_device *dev, char *out, size_t len,
                    vdvs_error_t *err)
{
  /* The bus is unused by Windows itself; the simulated layer finds the
   * device tree by it, so it must not escape that tree. */
  if (!digits (dev->pci_slot) || !digits (dev->unit)
      || strlen (dev->pci_slot) > 6 || strlen (dev->unit) > 6
      || strchr (dev->pci_bus, '/') || strchr (dev->pci_bus, '\\')
      || strchr (dev->pci_bus, ':') || strstr (dev->pci_bus, ".."))
    return vdvs_error_set (err, EINVAL,
                           "Could not identify disk for controller = %s, "
                           "unit = %s",
                           dev->pci_slot, dev->unit);
  snprintf (out, len, "scsi:%s:%s:%s", dev->pci_slot, dev->unit, dev->pci_bus);
  return 0;
}

int
vdvs_win_device_id_parse (const char *id, struct vdvs_device *dev)
{
  const char *a, *b;

  memset (dev, 0, sizeof *dev);
  if (strncmp (id, "scsi:", 5) != 0)
    return -1;
  id += 5;
  if ((a = strchr (id, ':')) == NULL || (b = strchr (a + 1, ':')) == NULL
      || (size_t) (a - id) >= sizeof dev->pci_slot
      || (size_t) (b - a - 1) >= sizeof dev->unit
      || strlen (b + 1) >= sizeof dev->pci_bus)
    return -1;
  memcpy (dev->pci_slot, id, (size_t) (a - id));
  memcpy (dev->unit, a + 1, (size_t) (b - a - 1));
  strcpy (dev->pci_bus, b + 1);
  return digits (dev->pci_slot) && digits (dev->unit) ? 0 : -1;
}

#define DRIVE_PREFIX "\\\\.\\PhysicalDrive"

int
vdvs_win_disk_number (const char *source)
{
  const char *n = source + strlen (DRIVE_PREFIX);

  if (strncmp (source, DRIVE_PREFIX, strlen (DRIVE_PREFIX)) != 0 || !digits (n)
      || strlen (n) > 6)
    return -1;
  return atoi (n);
}

void
vdvs_win_disk_source (int disk, char *out, size_t len)
{
  snprintf (out, len, DRIVE_PREFIX "%d", disk);
}

/* Length of the UTF-8 sequence at s and how many UTF-16 units it takes;
 * a bad byte counts as one unit of one byte. */
static size_t
utf8_char (const unsigned char *s, int *units)
{
  size_t n = 1;

  *units = 1;
  if (s[0] >= 0xc0 && s[0] < 0xe0)
    n = 2;
  else if (s[0] >= 0xe0 && s[0] < 0xf0)
    n = 3;
  else if (s[0] >= 0xf0 && s[0] < 0xf8)
    n = 4, *units = 2;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      {
        *units = 1;
        return 1;
      }
  return n;
}

void
vdvs_win_ntfs_label (const char *name, char *out, size_t len)
{
  const unsigned char *s = (const unsigned char *) name;
  size_t at = 0;
  int used = 0;

  while (s[at] != '\0')
    {
      int units;
      size_t n = utf8_char (s + at, &units);
      if (used + units > VDVS_WIN_LABEL_MAX || at + n >= len)
        break;
      used += units;
      at += n;
    }
  if (len > 0)
    {
      memcpy (out, name, at);
      out[at] = '\0';
    }
}

static void
le32 (uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t
get32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

uint64_t
vdvs_win_part_sectors (uint64_t bytes)
{
  uint64_t n = bytes / VDVS_WIN_SECTOR;

  /* At least 1 MiB of partition after the 1 MiB gap. */
  if (n < VDVS_WIN_PART_LBA + 2048)
    return 0;
  n -= VDVS_WIN_PART_LBA;
  return n > 0xffffffffu ? 0xffffffffu : n;
}

void
vdvs_win_mbr_build (uint8_t s[VDVS_WIN_SECTOR], uint32_t sig, uint64_t sectors)
{
  uint8_t *e = s + 0x1be;

  memset (s, 0, VDVS_WIN_SECTOR);
  le32 (s + 0x1b8, sig);
  /* Status 0, CHS fields saying "use LBA", type 0x07 (NTFS). */
  e[0] = 0x00;
  e[1] = 0xfe, e[2] = 0xff, e[3] = 0xff;
  e[4] = 0x07;
  e[5] = 0xfe, e[6] = 0xff, e[7] = 0xff;
  le32 (e + 8, VDVS_WIN_PART_LBA);
  le32 (e + 12, (uint32_t) (sectors > 0xffffffffu ? 0xffffffffu : sectors));
  s[510] = 0x55, s[511] = 0xaa;
}

int
vdvs_win_mbr_parse (const uint8_t s[VDVS_WIN_SECTOR], uint64_t *lba,
                    uint64_t *sectors, uint32_t *sig)
{
  const uint8_t *e = s + 0x1be;

  if (s[510] != 0x55 || s[511] != 0xaa || e[4] == 0 || e[4] == 0xee
      || get32 (e + 8) == 0 || get32 (e + 12) == 0)
    return 0;
  *lba = get32 (e + 8);
  *sectors = get32 (e + 12);
  *sig = get32 (s + 0x1b8);
  return 1;
}

#define SIM_LABEL "vdvs-sim-label:"
#define SIM_LABEL_AT 0x54

void
vdvs_win_ntfs_boot_build (uint8_t s[VDVS_WIN_SECTOR], uint64_t sectors,
                          const char *label)
{
  memset (s, 0, VDVS_WIN_SECTOR);
  s[0] = 0xeb, s[1] = 0x52, s[2] = 0x90;
  memcpy (s + 3, "NTFS    ", 8);
  s[0x0b] = 0x00, s[0x0c] = 0x02; /* 512 bytes per sector */
  s[0x0d] = 8;                    /* sectors per cluster */
  s[0x15] = 0xf8;                 /* fixed disk */
  for (int i = 0; i < 8; i++)     /* total sectors, one kept for the copy */
    s[0x28 + i] = (uint8_t) ((sectors - 1) >> (8 * i));
  s[0x30] = 4; /* $MFT at cluster 4 */
  memcpy (s + SIM_LABEL_AT, SIM_LABEL, strlen (SIM_LABEL));
  /* The label is already cut to 32 UTF-16 units: at most 128 bytes. */
  snprintf ((char *) s + SIM_LABEL_AT + strlen (SIM_LABEL),
            510 - SIM_LABEL_AT - strlen (SIM_LABEL), "%s", label);
  s[510] = 0x55, s[511] = 0xaa;
}

bool
vdvs_win_ntfs_boot_parse (const uint8_t s[VDVS_WIN_SECTOR], char *label,
                          size_t len)
{
  const char *l = (const char *) s + SIM_LABEL_AT + strlen (SIM_LABEL);

  if (len > 0)
    label[0] = '\0';
  if (memcmp (s + 3, "NTFS    ", 8) != 0 || s[510] != 0x55 || s[511] != 0xaa)
    return false;
  if (len > 0 && memcmp (s + SIM_LABEL_AT, SIM_LABEL, strlen (SIM_LABEL)) == 0)
    snprintf (label, len, "%.*s", (int) (510 - (l - (const char *) s)), l);
  return true;
}

int
vdvs_win_classify (const uint8_t s0[VDVS_WIN_SECTOR], const uint8_t *part,
                   char *type, size_t len)
{
  uint64_t lba, n;
  uint32_t sig;
  size_t i;

  for (i = 0; i < VDVS_WIN_SECTOR && s0[i] == 0; i++)
    ;
  if (i == VDVS_WIN_SECTOR)
    return 0;
  if (vdvs_win_ntfs_boot_parse (s0, NULL, 0))
    snprintf (type, len, "ntfs without a partition table");
  else if (s0[510] == 0x55 && s0[511] == 0xaa && s0[0x1be + 4] == 0xee)
    snprintf (type, len, "gpt");
  else if (vdvs_win_mbr_parse (s0, &lba, &n, &sig) == 1)
    snprintf (type, len, "%s",
              part != NULL && vdvs_win_ntfs_boot_parse (part, NULL, 0)
                  ? "ntfs"
                  : "mbr");
  else
    snprintf (type, len, "data");
  return 1;
}

void
vdvs_win_dir (const char *path, char *out, size_t len)
{
  size_t n;

  snprintf (out, len, "%s", path);
  for (char *p = out; *p; p++)
    if (*p == '/')
      *p = '\\';
  n = strlen (out);
  while (n > 1 && out[n - 1] == '\\' && out[n - 2] == '\\')
    out[--n] = '\0';
  if (n > 0 && out[n - 1] != '\\' && n + 1 < len)
    out[n] = '\\', out[n + 1] = '\0';
}

bool
vdvs_win_under (const char *dir, const char *root, char *name, size_t len)
{
  char d[1024], r[1024], *slash;
  size_t rn;

  vdvs_win_dir (dir, d, sizeof d);
  vdvs_win_dir (root, r, sizeof r);
  rn = strlen (r);
  if (strlen (d) <= rn + 1)
    return false;
  for (size_t i = 0; i < rn; i++)
    if (tolower ((unsigned char) d[i]) != tolower ((unsigned char) r[i]))
      return false;
  d[strlen (d) - 1] = '\0'; /* the trailing backslash */
  slash = strchr (d + rn, '\\');
  if (slash != NULL)
    return false;
  snprintf (name, len, "%s", d + rn);
  return true;
}

int
vdvs_win_format_script (int disk, const char *label, char *out, size_t len)
{
  char q[4 * VDVS_WIN_LABEL_MAX + 64];
  size_t j = 0;
  int n;

  /* A single-quoted PowerShell string: quotes (also the typographic ones
   * PowerShell treats as quotes) are doubled. */
  for (size_t i = 0; label[i] && j + 8 < sizeof q; i++)
    {
      if (label[i] == '\'')
        q[j++] = '\'';
      else if ((unsigned char) label[i] == 0xe2
               && (unsigned char) label[i + 1] == 0x80
               && ((unsigned char) label[i + 2] >= 0x98
                   && (unsigned char) label[i + 2] <= 0x9b))
        {
          memcpy (q + j, label + i, 3);
          j += 3;
        }
      q[j++] = label[i];
    }
  q[j] = '\0';
  n = snprintf (out, len,
                "$ErrorActionPreference = 'Stop'; "
                "Update-HostStorageCache; "
                "$v = Get-Partition -DiskNumber %d -PartitionNumber 1 | "
                "Format-Volume -FileSystem NTFS -NewFileSystemLabel '%s' "
                "-Confirm:$false -Force; "
                "Write-Output ('" VDVS_WIN_FORMAT_TAG " ' + $v.FileSystem)",
                disk, q);
  return n < 0 || (size_t) n >= len ? -1 : 0;
}

int
vdvs_win_ps_encode (const char *script, char *out, size_t len)
{
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = (const unsigned char *) script;
  size_t n = strlen (script), u = 0, o = 0;
  unsigned char *w = malloc (4 * n + 4);
  int r = 0;

  if (w == NULL)
    return -1;
  for (size_t i = 0; i < n;)
    {
      unsigned cp;
      int units;
      size_t k = utf8_char (s + i, &units);
      if (k == 1)
        cp = s[i];
      else if (k == 2)
        cp = (s[i] & 0x1fu) << 6 | (s[i + 1] & 0x3fu);
      else if (k == 3)
        cp = (s[i] & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6
             | (s[i + 2] & 0x3fu);
      else
        cp = (s[i] & 0x07u) << 18 | (s[i + 1] & 0x3fu) << 12
             | (s[i + 2] & 0x3fu) << 6 | (s[i + 3] & 0x3fu);
      i += k;
      if (cp >= 0x10000)
        {
          unsigned hi = 0xd800 + ((cp - 0x10000) >> 10);
          unsigned lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
          w[u++] = (unsigned char) hi, w[u++] = (unsigned char) (hi >> 8);
          cp = lo;
        }
      w[u++] = (unsigned char) cp, w[u++] = (unsigned char) (cp >> 8);
    }
  for (size_t i = 0; i < u; i += 3)
    {
      unsigned v = (unsigned) w[i] << 16;
      if (i + 1 < u)
        v |= (unsigned) w[i + 1] << 8;
      if (i + 2 < u)
        v |= w[i + 2];
      if (o + 5 > len)
        {
          r = -1;
          break;
        }
      out[o++] = b64[v >> 18 & 63];
      out[o++] = b64[v >> 12 & 63];
      out[o++] = i + 1 < u ? b64[v >> 6 & 63] : '=';
      out[o++] = i + 2 < u ? b64[v & 63] : '=';
    }
  if (len > 0)
    out[r == 0 ? o : 0] = '\0';
  free (w);
  return r;
}

int
vdvs_win_ps_check (int status, const char *out, const char *tag,
                   const char *want, vdvs_error_t *err)
{
  const char *line = out;
  char got[64];

  if (status != 0)
    return vdvs_error_set (err, EIO, "PowerShell failed (exit status %d): %s",
                           status, out[0] ? out : "(no output)");
  /* Each line, CRLF or LF, for "<tag> <value>". */
  while (line != NULL && *line)
    {
      if (strncmp (line, tag, strlen (tag)) == 0)
        {
          const char *v = line + strlen (tag);
          size_t n;
          while (*v == ' ')
            v++;
          n = strcspn (v, "\r\n");
          snprintf (got, sizeof got, "%.*s", (int) n, v);
          if (strcasecmp (got, want) != 0)
            return vdvs_error_set (err, EIO,
                                   "PowerShell made `%s`, not %s: %s", got,
                                   want, out);
          return 0;
        }
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  if (strspn (out, " \r\n\t") == strlen (out))
    return vdvs_error_set (err, EIO,
                           "PowerShell exited 0 but printed nothing, so "
                           "nothing says the step ran (wine's powershell.exe "
                           "is a stub that runs nothing)");
  return vdvs_error_set (err, EIO, "PowerShell's output has no `%s` line: %s",
                         tag, out);
}
