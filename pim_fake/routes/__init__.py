"""The fake Entra's HTTP routes, one module-level ``APIRouter`` per area (Graph v1.0 and ``/_sandbox``).

Routes are thin: FastAPI dependencies (:mod:`pim_fake.routes.deps`) supply the tenant, the authenticated caller
(or administrator), the JSON body and the OData query options; the tenant's stores do the work under its lock.
"""
