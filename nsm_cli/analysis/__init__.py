"""Analyses over an evaluated tree: values, levers, explain, goal-seek, alerts, trends."""
