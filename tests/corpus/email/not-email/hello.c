#include <stdio.h>

int main(void) {
    printf("From: %s\n", "nobody");
    return 0;
}
