SPECS = {}
EXEMPT = {}
XFAIL = {}
