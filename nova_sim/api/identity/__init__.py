"""A Keystone v3 subset served at ``/identity`` when ``[api] auth_strategy = keystone``.

``store`` owns the users, projects, roles, role assignments and tokens (in memory,
passwords hashed); ``controllers`` the ``/identity/v3`` routes and Keystone's response and
error shapes. The compute API asks the store to validate the ``X-Auth-Token`` of each
request (``nova_sim.api.auth``).
"""
