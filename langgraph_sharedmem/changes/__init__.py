"""The change feed and as-of reads, above the parts: every committed change to shared memory,
in commit order (`changes.feed`, `changes.subscription`, `changes.as_of`, exported from the
package root). The log itself, which every part writes, is `core.changelog`.
"""
