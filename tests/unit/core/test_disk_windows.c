/* The plain C of the Windows disk layer (src/platform/windows/disklayout.c)
 * on Linux: device ids from the attach reply, the NTFS label cut, the MBR
 * and boot-sector layout, access paths, and how PowerShell's result is
 * judged. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/windows/disk.h"

Test (disk_windows, device_id_from_the_attach_reply)
{
  struct vdvs_device d = { "1", "224", "17.0" }, back;
  char id[64];
  vdvs_error_t e = NULL;

  cr_assert_eq (vdvs_win_device_id (&d, id, sizeof id, &e), 0);
  cr_assert_str_eq (id, "scsi:224:1:17.0");
  cr_assert_eq (vdvs_win_device_id_parse (id, &back), 0);
  cr_assert_str_eq (back.pci_slot, "224");
  cr_assert_str_eq (back.unit, "1");
  cr_assert_str_eq (back.pci_bus, "17.0");
  cr_assert_eq (vdvs_win_device_id_parse ("scsi:x:1:17.0", &back), -1);
  cr_assert_eq (vdvs_win_device_id_parse ("\\\\.\\PhysicalDrive2", &back), -1);
}

static void
bad_reply (const char *unit, const char *slot, const char *bus)
{
  struct vdvs_device d;
  char id[64], want[128];
  vdvs_error_t e = NULL;

  snprintf (d.unit, sizeof d.unit, "%s", unit);
  snprintf (d.pci_slot, sizeof d.pci_slot, "%s", slot);
  snprintf (d.pci_bus, sizeof d.pci_bus, "%s", bus);
  cr_assert_lt (vdvs_win_device_id (&d, id, sizeof id, &e), 0, "%s %s %s",
                unit, slot, bus);
  snprintf (want, sizeof want,
            "Could not identify disk for controller = %s, unit = %s", slot,
            unit);
  cr_assert_str_eq (e->msg, want);
  vdvs_error_release (&e);
}

Test (disk_windows, a_bad_attach_reply_gets_upstreams_error)
{
  bad_reply ("", "224", "17.0");
  bad_reply ("1", "", "17.0");
  bad_reply ("x", "224", "17.0");
  bad_reply ("1", "22a", "17.0");
  bad_reply ("1", "224", "../../etc");
  bad_reply ("1", "224", "a/b");
  bad_reply ("1", "224", "a:b");
}

Test (disk_windows, disk_numbers_of_mount_sources)
{
  char s[64];

  vdvs_win_disk_source (3, s, sizeof s);
  cr_assert_str_eq (s, "\\\\.\\PhysicalDrive3");
  cr_assert_eq (vdvs_win_disk_number (s), 3);
  cr_assert_eq (vdvs_win_disk_number ("\\\\.\\PhysicalDrive"), -1);
  cr_assert_eq (vdvs_win_disk_number ("\\\\.\\PhysicalDrive1x"), -1);
  cr_assert_eq (vdvs_win_disk_number ("scsi:1:2:3"), -1);
}

Test (disk_windows, label_is_cut_to_32_utf16_units)
{
  char out[256], name[128];

  vdvs_win_ntfs_label ("short", out, sizeof out);
  cr_assert_str_eq (out, "short");
  memset (name, 'a', 100);
  name[100] = '\0';
  vdvs_win_ntfs_label (name, out, sizeof out);
  cr_assert_eq (strlen (out), 32);
  /* 31 ASCII + a 2-byte character: 32 units, kept whole. */
  snprintf (name, sizeof name, "%.31s\xc3\xa9tail",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  vdvs_win_ntfs_label (name, out, sizeof out);
  cr_assert_eq (strlen (out), 33);
  cr_assert_str_eq (out + 31, "\xc3\xa9");
  /* 31 ASCII + a character outside the BMP (2 units): not cut in half. */
  snprintf (name, sizeof name, "%.31s\xf0\x9f\x98\x80",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  vdvs_win_ntfs_label (name, out, sizeof out);
  cr_assert_eq (strlen (out), 31);
  /* A small buffer still ends on a character. */
  vdvs_win_ntfs_label ("\xc3\xa9\xc3\xa9", out, 4);
  cr_assert_str_eq (out, "\xc3\xa9");
}

Test (disk_windows, mbr_layout)
{
  uint8_t s[512];
  uint64_t lba, n;
  uint32_t sig;

  cr_assert_eq (vdvs_win_part_sectors (1024 * 1024), 0);
  cr_assert_eq (vdvs_win_part_sectors (20 * 1024 * 1024), 20 * 2048 - 2048);
  cr_assert_eq (vdvs_win_part_sectors (UINT64_C (4) << 40), 0xffffffffu);
  vdvs_win_mbr_build (s, 0x12345678, 38912);
  cr_assert_eq (s[510], 0x55);
  cr_assert_eq (s[511], 0xaa);
  cr_assert_eq (s[0x1b8], 0x78);
  cr_assert_eq (s[0x1bb], 0x12);
  cr_assert_eq (s[0x1be + 4], 0x07);
  cr_assert_eq (s[0x1c6], 0x00); /* LBA 2048 = 0x800, little-endian */
  cr_assert_eq (s[0x1c7], 0x08);
  cr_assert_eq (s[0x1ce], 0); /* no partition 2 */
  cr_assert_eq (vdvs_win_mbr_parse (s, &lba, &n, &sig), 1);
  cr_assert_eq (lba, 2048);
  cr_assert_eq (n, 38912);
  cr_assert_eq (sig, 0x12345678);
  s[511] = 0;
  cr_assert_eq (vdvs_win_mbr_parse (s, &lba, &n, &sig), 0);
}

Test (disk_windows, boot_sector_and_what_a_disk_holds)
{
  uint8_t s0[512] = { 0 }, part[512] = { 0 };
  char type[64], label[64];

  cr_assert_eq (vdvs_win_classify (s0, NULL, type, sizeof type), 0);
  s0[100] = 1;
  cr_assert_eq (vdvs_win_classify (s0, NULL, type, sizeof type), 1);
  cr_assert_str_eq (type, "data");
  vdvs_win_mbr_build (s0, 1, 40000);
  cr_assert_eq (vdvs_win_classify (s0, part, type, sizeof type), 1);
  cr_assert_str_eq (type, "mbr");
  vdvs_win_ntfs_boot_build (part, 40000, "myvol");
  cr_assert (vdvs_win_ntfs_boot_parse (part, label, sizeof label));
  cr_assert_str_eq (label, "myvol");
  cr_assert_eq (memcmp (part + 3, "NTFS    ", 8), 0);
  cr_assert_eq (part[0x28], (uint8_t) (39999 & 0xff));
  cr_assert_eq (vdvs_win_classify (s0, part, type, sizeof type), 1);
  cr_assert_str_eq (type, "ntfs");
  /* A GPT disk's protective MBR, and NTFS on the whole disk. */
  s0[0x1be + 4] = 0xee;
  vdvs_win_classify (s0, NULL, type, sizeof type);
  cr_assert_str_eq (type, "gpt");
  vdvs_win_classify (part, NULL, type, sizeof type);
  cr_assert_str_eq (type, "ntfs without a partition table");
  part[3] = 'X';
  cr_assert (!vdvs_win_ntfs_boot_parse (part, label, sizeof label));
}

Test (disk_windows, access_paths_and_the_mount_root)
{
  char d[256], name[128];
  const char *root =
      "C:\\Users\\me\\AppData\\Local\\vsphere-storage-for-docker\\mounts";

  vdvs_win_dir (
      "C:\\Users\\me\\AppData\\Local\\vsphere-storage-for-docker\\mounts/vol@ds",
      d, sizeof d);
  cr_assert_str_eq (
      d,
      "C:\\Users\\me\\AppData\\Local\\vsphere-storage-for-docker\\mounts\\vol@ds\\");
  vdvs_win_dir ("C:\\a\\b\\\\", d, sizeof d);
  cr_assert_str_eq (d, "C:\\a\\b\\");
  cr_assert (vdvs_win_under (
      "c:\\users\\ME\\AppData\\Local\\vsphere-storage-for-docker\\mounts\\My Vol@ds\\",
      root, name, sizeof name));
  cr_assert_str_eq (name, "My Vol@ds");
  cr_assert (!vdvs_win_under (root, root, name, sizeof name));
  cr_assert (!vdvs_win_under (
      "C:\\Users\\me\\AppData\\Local\\vsphere-storage-for-docker\\mounts\\a\\b\\",
      root, name, sizeof name));
  cr_assert (!vdvs_win_under (
      "C:\\Users\\me\\AppData\\Local\\vsphere-storage-for-docker\\mountsX\\a\\",
      root, name, sizeof name));
  cr_assert (!vdvs_win_under ("D:\\", root, name, sizeof name));
}

Test (disk_windows, the_format_script_quotes_the_label)
{
  char s[1024];

  cr_assert_eq (vdvs_win_format_script (4, "it's", s, sizeof s), 0);
  cr_assert (strstr (s, "-DiskNumber 4 -PartitionNumber 1") != NULL, "%s", s);
  cr_assert (strstr (s, "-NewFileSystemLabel 'it''s'") != NULL, "%s", s);
  cr_assert (strstr (s, "-FileSystem NTFS") != NULL, "%s", s);
  cr_assert (strstr (s, "'" VDVS_WIN_FORMAT_TAG " '") != NULL, "%s", s);
  /* A typographic quote ends a PowerShell string too. */
  cr_assert_eq (vdvs_win_format_script (1, "a\xe2\x80\x99z", s, sizeof s), 0);
  cr_assert (strstr (s, "'a\xe2\x80\x99\xe2\x80\x99z'") != NULL, "%s", s);
  cr_assert_eq (vdvs_win_format_script (1, "x", s, 20), -1);
}

Test (disk_windows, encoded_command_is_utf16le_base64)
{
  char out[64];

  /* "ab" = 61 00 62 00; "\xc3\xa9" = e9 00. */
  cr_assert_eq (vdvs_win_ps_encode ("ab", out, sizeof out), 0);
  cr_assert_str_eq (out, "YQBiAA==");
  cr_assert_eq (vdvs_win_ps_encode ("\xc3\xa9", out, sizeof out), 0);
  cr_assert_str_eq (out, "6QA=");
  /* U+1F600: surrogates 3d d8 00 de. */
  cr_assert_eq (vdvs_win_ps_encode ("\xf0\x9f\x98\x80", out, sizeof out), 0);
  cr_assert_str_eq (out, "PdgA3g==");
  cr_assert_eq (vdvs_win_ps_encode ("abcdef", out, 8), -1);
}

static void
ps_fails (int status, const char *out, const char *want)
{
  vdvs_error_t e = NULL;

  cr_assert_lt (vdvs_win_ps_check (status, out, VDVS_WIN_FORMAT_TAG, "NTFS",
                                   &e),
                0, "%d %s", status, out);
  cr_assert (strstr (e->msg, want) != NULL, "%s", e->msg);
  vdvs_error_release (&e);
}

Test (disk_windows, powershell_result_is_checked)
{
  vdvs_error_t e = NULL;

  cr_assert_eq (vdvs_win_ps_check (0, "\r\nvdvs-format: NTFS\r\n",
                                   VDVS_WIN_FORMAT_TAG, "NTFS", &e),
                0);
  cr_assert_eq (vdvs_win_ps_check (0, "vdvs-format:ntfs", VDVS_WIN_FORMAT_TAG,
                                   "NTFS", &e),
                0);
  /* Wine's stub: nothing printed, exit 0. */
  ps_fails (0, "", "printed nothing");
  ps_fails (0, "\r\n  \r\n", "printed nothing");
  ps_fails (0, "fixme:powershell:wmain stub\n", "has no `vdvs-format:` line");
  ps_fails (1, "Format-Volume : Access denied", "exit status 1");
  ps_fails (1, "", "(no output)");
  ps_fails (0, "vdvs-format: FAT32\r\n", "made `FAT32`, not NTFS");
}
