/* Sequence set parsing and writing (RFC 3501 9). */
#include "imap-seqset.h"

#include <stdlib.h>

static int parse_number(const char **p, uint32_t star, uint32_t *num_r)
{
	const char *s = *p;
	uint64_t n = 0;

	if (*s == '*') {
		*num_r = star;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*num_r = (uint32_t)n;
	*p = s;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct seq_range *r1 = a, *r2 = b;

	if (r1->seq1 != r2->seq1)
		return r1->seq1 < r2->seq1 ? -1 : 1;
	return r1->seq2 < r2->seq2 ? -1 : (r1->seq2 > r2->seq2 ? 1 : 0);
}

static unsigned int ranges_merge(struct seq_range *r, unsigned int count)
{
	unsigned int out = 0;

	if (count == 0)
		return 0;
	qsort(r, count, sizeof(*r), range_cmp);
	for (unsigned int i = 1; i < count; i++) {
		if (r[out].seq2 == UINT32_MAX ||
		    r[i].seq1 <= r[out].seq2 + 1) {
			if (r[i].seq2 > r[out].seq2)
				r[out].seq2 = r[i].seq2;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

int imap_seqset_parse(const char *str, uint32_t star,
		      struct seq_range **ranges_r, unsigned int *count_r)
{
	struct seq_range *ranges = NULL;
	unsigned int count = 0, alloc = 0;
	const char *p = str;

	for (;;) {
		uint32_t n1, n2;

		if (parse_number(&p, star, &n1) < 0)
			goto fail;
		n2 = n1;
		if (*p == ':') {
			p++;
			if (parse_number(&p, star, &n2) < 0)
				goto fail;
		}
		if (count == IMAP_SEQSET_MAX_RANGES)
			goto fail;
		if (count == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			ranges = i_realloc(ranges, alloc * sizeof(*ranges));
		}
		ranges[count].seq1 = n1 < n2 ? n1 : n2;
		ranges[count].seq2 = n1 < n2 ? n2 : n1;
		count++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto fail;
	}
	*count_r = ranges_merge(ranges, count);
	*ranges_r = ranges;
	return 0;
fail:
	free(ranges);
	*ranges_r = NULL;
	*count_r = 0;
	return -1;
}

bool imap_seqset_contains(const struct seq_range *ranges, unsigned int count,
			  uint32_t n)
{
	unsigned int lo = 0, hi = count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (n < ranges[mid].seq1)
			hi = mid;
		else if (n > ranges[mid].seq2)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint32_t imap_seqset_max(const struct seq_range *ranges, unsigned int count)
{
	return count == 0 ? 0 : ranges[count - 1].seq2;
}

void imap_seqset_write_nums(string_t *dest, const uint32_t *nums,
			    unsigned int count)
{
	unsigned int i = 0;

	while (i < count) {
		unsigned int j = i;
		while (j + 1 < count && nums[j] != UINT32_MAX &&
		       nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0)
			str_append_c(dest, ',');
		if (j == i)
			str_printfa(dest, "%u", nums[i]);
		else
			str_printfa(dest, "%u:%u", nums[i], nums[j]);
		i = j + 1;
	}
}

void imap_seqset_write(string_t *dest, const struct seq_range *ranges,
		       unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		if (i > 0)
			str_append_c(dest, ',');
		if (ranges[i].seq1 == ranges[i].seq2)
			str_printfa(dest, "%u", ranges[i].seq1);
		else
			str_printfa(dest, "%u:%u", ranges[i].seq1,
				    ranges[i].seq2);
	}
}
