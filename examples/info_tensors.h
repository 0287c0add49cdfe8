/* info_tensors.h — `dseek info`'s report of a GGUF's shards and tensor types. */
#ifndef DSEEK_INFO_TENSORS_H
#define DSEEK_INFO_TENSORS_H

/* Print the shards (a split model) and, per tensor type, the count, bytes
 * and kernel of the GGUF at path; -1 (nothing printed) if it is not a GGUF. */
int info_tensors(const char *path);

#endif
