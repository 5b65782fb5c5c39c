/* SPDX-License-Identifier: GPL-3.0-or-later */
/* embed NAME < FILE > FILE.c: a file's bytes as `const char NAME[]` (NUL-terminated)
 * and `const size_t NAME_len`. Used to build http/openapi.json into the binary. */
#include <stdio.h>

int main(int argc, char **argv)
{
	int c;
	unsigned long n = 0;
	if (argc != 2)
		return 2;
	printf("#include <stddef.h>\nextern const char %s[];\nextern const size_t %s_len;\n"
	       "const char %s[] = {",
	       argv[1], argv[1], argv[1]);
	while ((c = getchar()) != EOF)
		printf("%d,%s", (signed char)c, ++n % 32 ? "" : "\n"); /* UTF-8 bytes too */
	printf("0};\nconst size_t %s_len = %lu;\n", argv[1], n);
	return ferror(stdin) != 0;
}
