"""Tests of the deployment descriptions: compose/production, compose/kubernetes, the alert rules."""
