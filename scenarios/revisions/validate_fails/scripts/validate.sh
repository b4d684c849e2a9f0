#!/bin/sh
# A bad release: the app starts, but its own check finds it answering wrong, so ValidateService
# fails on every instance this revision reaches.
echo "validate: the health page reports a broken dependency" >&2
exit 1
