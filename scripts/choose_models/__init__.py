"""The azd preprovision hook: checks what would fail minutes into `azd up` and chooses the chat
and embedding models to deploy.

It lists the models the Azure OpenAI region offers this subscription (the Cognitive Services
"models" list of the management API) and the subscription's quota there ("usages"), keeps the
ones a deployment can use, picks one for chat (it must serve the Responses API) and one for
embeddings, and writes them into the azd environment, which infra/main.parameters.json reads.
docs/deploy.md describes the preference.

    catalog.py     the model list read into `Offer`s; `Deployed`, a deployment that exists
    management.py  the management API of one subscription (models, usages, deployments,
                   soft-deleted accounts, search services)
    asks.py        what a deployment is for, and what is asked of it
    ranking.py     the order of preference among models
    quota.py       how much of the subscription's quota a deployment gets (no I/O)
    selection.py   which offers fit, and which one to take (no I/O)
    regions.py     the regions near a region, for quota elsewhere
    preflight.py   what would fail minutes into provisioning (no I/O)
    budget.py      the cost budget's start date, fixed once (no I/O)
    __main__.py    the hook: settings from the azd environment, `azd env set`, what it says
"""
