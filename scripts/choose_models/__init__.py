"""The azd preprovision hook that chooses the chat and embedding models to deploy.

It lists the models the Azure OpenAI region offers this subscription (the Cognitive Services
"models" list of the management API), keeps the ones a new deployment can use, picks one for chat
(it must serve the Responses API) and one for embeddings, and writes them into the azd
environment, which infra/main.parameters.json reads. docs/deploy.md describes the preference.

    catalog.py    the management API's model list, read into `Offer`s
    selection.py  which offers fit, and which one to take (no I/O)
    __main__.py   the hook: settings from the azd environment, `azd env set`, what it says
"""
