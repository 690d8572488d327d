/*
 * FAT32 on-disk layout: byte offsets and values from the Microsoft "FAT: General
 * Overview of On-Disk Format" v1.03 (fatgen103), sections cited per group.
 * All fields are little-endian and unaligned, so the reader decodes them from
 * byte offsets instead of overlaying structs.
 */
#ifndef CAPOS_FAT32_FAT32_REG_H
#define CAPOS_FAT32_FAT32_REG_H

/* Boot sector and BPB (fatgen103 section 3.1 common BPB, 3.3 FAT32 extension). */
#define FAT_BS_JMPBOOT       0
#define FAT_BPB_BYTSPERSEC   11  /* u16 */
#define FAT_BPB_SECPERCLUS   13  /* u8 */
#define FAT_BPB_RSVDSECCNT   14  /* u16 */
#define FAT_BPB_NUMFATS      16  /* u8 */
#define FAT_BPB_ROOTENTCNT   17  /* u16, 0 on FAT32 */
#define FAT_BPB_TOTSEC16     19  /* u16, 0 on FAT32 */
#define FAT_BPB_MEDIA        21  /* u8 */
#define FAT_BPB_FATSZ16      22  /* u16, 0 on FAT32 */
#define FAT_BPB_TOTSEC32     32  /* u32 */
#define FAT_BPB_FATSZ32      36  /* u32 */
#define FAT_BPB_EXTFLAGS     40  /* u16: bit 7 mirroring off, bits 0-3 active FAT */
#define FAT_BPB_FSVER        42  /* u16, must be 0 */
#define FAT_BPB_ROOTCLUS     44  /* u32 */
#define FAT_BPB_FSINFO       48  /* u16 sector number of FSInfo */
#define FAT_BPB_BKBOOTSEC    50  /* u16 */
#define FAT_BS_SIG           510 /* 0x55 0xAA, at 510 whatever the sector size */

/* FSInfo sector (fatgen103 section 5). */
#define FAT_FSI_LEADSIG      0
#define FAT_FSI_STRUCSIG     484
#define FAT_FSI_FREECOUNT    488
#define FAT_FSI_NXTFREE      492
#define FAT_FSI_TRAILSIG     508
#define FAT_FSI_LEADSIG_VAL  0x41615252u
#define FAT_FSI_STRUCSIG_VAL 0x61417272u
#define FAT_FSI_TRAILSIG_VAL 0xAA550000u

/* FAT entries (fatgen103 section 4): 28 significant bits. */
#define FAT_ENT_MASK         0x0FFFFFFFu
#define FAT_ENT_FREE         0x00000000u
#define FAT_ENT_BAD          0x0FFFFFF7u
#define FAT_ENT_EOC_MIN      0x0FFFFFF8u
#define FAT32_MIN_CLUSTERS   65525u      /* below this the spec calls it FAT16 */
#define FAT32_MAX_CLUSTERS   0x0FFFFFF5u /* 2..MAX+1 must stay below BAD */

/* Directory entries (fatgen103 section 6, LFN section 7): 32 bytes. */
#define FAT_DIRENT_SIZE      32
#define FAT_DIR_NAME         0   /* 11 bytes, 8.3 padded with spaces */
#define FAT_DIR_ATTR         11
#define FAT_DIR_NTRES        12  /* bit 3: base lower case, bit 4: ext lower case */
#define FAT_DIR_CRTTIMETENTH 13
#define FAT_DIR_CRTTIME      14
#define FAT_DIR_CRTDATE      16
#define FAT_DIR_LSTACCDATE   18
#define FAT_DIR_FSTCLUSHI    20
#define FAT_DIR_WRTTIME      22
#define FAT_DIR_WRTDATE      24
#define FAT_DIR_FSTCLUSLO    26
#define FAT_DIR_FILESIZE     28

#define FAT_ATTR_READ_ONLY   0x01
#define FAT_ATTR_HIDDEN      0x02
#define FAT_ATTR_SYSTEM      0x04
#define FAT_ATTR_VOLUME_ID   0x08
#define FAT_ATTR_DIRECTORY   0x10
#define FAT_ATTR_ARCHIVE     0x20
#define FAT_ATTR_LONG_NAME   0x0F
#define FAT_ATTR_LONG_MASK   0x3F

#define FAT_NTRES_LOWER_BASE 0x08
#define FAT_NTRES_LOWER_EXT  0x10

#define FAT_DIRENT_END       0x00 /* name[0]: no entries follow */
#define FAT_DIRENT_FREE      0xE5 /* name[0]: deleted entry */
#define FAT_DIRENT_KANJI_E5  0x05 /* name[0]: the real first byte is 0xE5 */

/* LFN entry fields. */
#define FAT_LFN_ORD          0
#define FAT_LFN_NAME1        1   /* 5 UTF-16 units */
#define FAT_LFN_TYPE         12  /* must be 0 */
#define FAT_LFN_CHKSUM       13
#define FAT_LFN_NAME2        14  /* 6 units */
#define FAT_LFN_FSTCLUSLO    26  /* must be 0 */
#define FAT_LFN_NAME3        28  /* 2 units */
#define FAT_LFN_LAST         0x40
#define FAT_LFN_ORD_MASK     0x1F
#define FAT_LFN_MAX_ORD      20  /* 20 * 13 = 260 >= 255 units */
#define FAT_LFN_UNITS        13

#define FAT_DIR_MAX_ENTRIES  65536u /* fatgen103 section 6: a directory is at most 2 MiB */

#endif
