"""What past retention campaigns achieved: outcomes at each campaign's own day, effects per
action and segment against the control group, and the success rates the plan learns from them."""
