#ifndef LOFT_IMAP_SEQSET_H
#define LOFT_IMAP_SEQSET_H
/* IMAP sequence sets (RFC 3501 9 "sequence-set"): "1", "2:4", "5:*",
   "1,3:5,7:*", used for both message sequence numbers and UIDs. */
#include "lib.h"

/* Most ranges a set may have; a 64 KiB line can't legitimately hold
   more disjoint numbers than this. */
#define IMAP_SEQSET_MAX_RANGES 65536

struct seq_range {
	uint32_t seq1, seq2; /* inclusive, seq1 <= seq2 */
};

/* Parse str. '*' stands for `star` (the number of messages for sequence
   numbers, the highest UID for UIDs; RFC 3501 6.4.8: "100:*" with a
   highest UID of 5 is 5:100). Ranges are normalized (n:m with n > m is
   m:n), sorted and merged. Numbers must be 1..4294967295 (nz-number);
   star may be 0 (empty mailbox). Caller frees *ranges_r with free().
   Returns 0, or -1 on syntax error / too many ranges. */
int imap_seqset_parse(const char *str, uint32_t star,
		      struct seq_range **ranges_r, unsigned int *count_r);

/* True if n is in the (sorted, merged) ranges. */
bool imap_seqset_contains(const struct seq_range *ranges, unsigned int count,
			  uint32_t n);
/* Highest number in the ranges, 0 if empty. */
uint32_t imap_seqset_max(const struct seq_range *ranges, unsigned int count);

/* Append nums (in the given order) as a sequence set, joining runs of
   consecutive ascending numbers: {1,2,3,7,5,6} -> "1:3,7,5:6". The order
   is kept because COPYUID's two sets must correspond (RFC 4315 3). */
void imap_seqset_write_nums(string_t *dest, const uint32_t *nums,
			    unsigned int count);
/* Append ranges as "a:b,c". */
void imap_seqset_write(string_t *dest, const struct seq_range *ranges,
		       unsigned int count);

#endif
