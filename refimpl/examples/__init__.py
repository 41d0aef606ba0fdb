"""Example policies that show how to write your own (see README, "Writing your own policy")."""
