"""The exchange with the target at run time: the request built, the result read and applied, and
the check that the target's runtime has every facet the task needs."""
