#!/usr/bin/env python3
"""Prints the headers of an email file."""
import email
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f)
for name, value in msg.items():
    print(f"{name}: {value}")
